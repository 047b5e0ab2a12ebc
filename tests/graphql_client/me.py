from .base_model import BaseModel


class Me(BaseModel):
    me: "MeMe"


class MeMe(BaseModel):
    id: str
    email: str
    tenant: "MeMeTenant"


class MeMeTenant(BaseModel):
    id: str
    name: str


Me.model_rebuild()
MeMe.model_rebuild()
