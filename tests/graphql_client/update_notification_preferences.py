from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import NotificationCategory, NotificationChannel, UserErrorCode


class UpdateNotificationPreferences(BaseModel):
    update_notification_preferences: "UpdateNotificationPreferencesUpdateNotificationPreferences" = Field(
        alias="updateNotificationPreferences"
    )


class UpdateNotificationPreferencesUpdateNotificationPreferences(BaseModel):
    notification_preferences: Optional[
        list[
            "UpdateNotificationPreferencesUpdateNotificationPreferencesNotificationPreferences"
        ]
    ] = Field(alias="notificationPreferences")
    user_errors: list[
        "UpdateNotificationPreferencesUpdateNotificationPreferencesUserErrors"
    ] = Field(alias="userErrors")


class UpdateNotificationPreferencesUpdateNotificationPreferencesNotificationPreferences(
    BaseModel
):
    id: str
    database_id: Any = Field(alias="databaseId")
    channel: NotificationChannel
    category: NotificationCategory
    enabled: bool


class UpdateNotificationPreferencesUpdateNotificationPreferencesUserErrors(BaseModel):
    field: Optional[list[str]]
    message: str
    code: UserErrorCode


UpdateNotificationPreferences.model_rebuild()
UpdateNotificationPreferencesUpdateNotificationPreferences.model_rebuild()
