from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import NotificationCategory, NotificationChannel


class MyConsentsAndPreferences(BaseModel):
    me: "MyConsentsAndPreferencesMe"


class MyConsentsAndPreferencesMe(BaseModel):
    id: str
    consents: Optional["MyConsentsAndPreferencesMeConsents"]
    notification_preferences: Optional[
        "MyConsentsAndPreferencesMeNotificationPreferences"
    ] = Field(alias="notificationPreferences")


class MyConsentsAndPreferencesMeConsents(BaseModel):
    total_count: int = Field(alias="totalCount")
    nodes: list["MyConsentsAndPreferencesMeConsentsNodes"]


class MyConsentsAndPreferencesMeConsentsNodes(BaseModel):
    id: str
    database_id: Any = Field(alias="databaseId")
    policy_key: str = Field(alias="policyKey")
    version: str
    accepted_at: Any = Field(alias="acceptedAt")


class MyConsentsAndPreferencesMeNotificationPreferences(BaseModel):
    total_count: int = Field(alias="totalCount")
    nodes: list["MyConsentsAndPreferencesMeNotificationPreferencesNodes"]


class MyConsentsAndPreferencesMeNotificationPreferencesNodes(BaseModel):
    id: str
    database_id: Any = Field(alias="databaseId")
    channel: NotificationChannel
    category: NotificationCategory
    enabled: bool


MyConsentsAndPreferences.model_rebuild()
MyConsentsAndPreferencesMe.model_rebuild()
MyConsentsAndPreferencesMeConsents.model_rebuild()
MyConsentsAndPreferencesMeNotificationPreferences.model_rebuild()
