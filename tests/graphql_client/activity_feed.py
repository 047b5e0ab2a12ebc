from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import ActivityObjectType, ActivityReadState, ActivityStatus


class ActivityFeed(BaseModel):
    activity: "ActivityFeedActivity"
    unread_activity_count: int = Field(alias="unreadActivityCount")


class ActivityFeedActivity(BaseModel):
    total_count: int = Field(alias="totalCount")
    page_info: "ActivityFeedActivityPageInfo" = Field(alias="pageInfo")
    nodes: list["ActivityFeedActivityNodes"]


class ActivityFeedActivityPageInfo(BaseModel):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: Optional[str] = Field(alias="endCursor")


class ActivityFeedActivityNodes(BaseModel):
    id: str
    database_id: Any = Field(alias="databaseId")
    action: str
    created_at: Any = Field(alias="createdAt")
    object_type: Optional[ActivityObjectType] = Field(alias="objectType")
    object_id: Optional[str] = Field(alias="objectId")
    object_name: Optional[str] = Field(alias="objectName")
    status: ActivityStatus
    read_state: ActivityReadState = Field(alias="readState")
    metadata: Optional[Any]


ActivityFeed.model_rebuild()
ActivityFeedActivity.model_rebuild()
