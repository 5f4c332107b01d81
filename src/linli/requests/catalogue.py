"""The starting catalogue of request categories, installed by a data migration and then
the administrators' to change. Each category's extra questions are Open311 attributes."""

from __future__ import annotations

from typing import Any

from linli.accounts.models import Role
from linli.requests.models import Category, Priority


def _choice(code: str, description: str, values: list[tuple[str, str]], *, required: bool = True,
            order: int = 1) -> dict[str, Any]:
    return {"variable": True, "code": code, "datatype": "singlevaluelist", "required": required,
            "datatype_description": "", "order": order, "description": description,
            "values": [{"key": key, "name": name} for key, name in values]}


def _text(code: str, description: str, *, required: bool = False, order: int = 2) -> dict[str, Any]:
    return {"variable": True, "code": code, "datatype": "string", "required": required,
            "datatype_description": "", "order": order, "description": description}


FLOOR = _text("floor", "所在楼层（如 5 层、地下车库）")
CATEGORIES: list[dict[str, Any]] = [
    {"code": "repairs", "name": "设施报修", "name_en": "Repairs", "group": "居住环境",
     "description": "楼道灯、门禁、电梯、下水道等公共设施损坏", "keywords": "维修,报修,电梯,门禁,楼道灯",
     "attributes": [_choice("facility", "损坏的设施", [("light", "楼道灯"), ("lift", "电梯"), ("door", "单元门/门禁"),
                                                        ("drain", "下水道/管道"), ("other", "其他")]), FLOOR],
     "default_organisation_kind": "property_manager"},
    {"code": "utilities", "name": "水电气暖", "name_en": "Water, power, gas, heating", "group": "居住环境",
     "description": "停水、停电、燃气、供暖问题", "keywords": "停水,停电,燃气,暖气",
     "attributes": [_choice("utility", "哪一项", [("water", "水"), ("power", "电"), ("gas", "燃气"),
                                                  ("heating", "供暖")])],
     "default_priority": Priority.HIGH, "default_organisation_kind": "property_manager"},
    {"code": "sanitation", "name": "环境卫生", "name_en": "Sanitation", "group": "居住环境",
     "description": "垃圾清运、楼道杂物、垃圾分类", "keywords": "垃圾,卫生,杂物,分类"},
    {"code": "greening", "name": "绿化养护", "name_en": "Greening", "group": "居住环境",
     "description": "树木修剪、绿地破坏、枯枝", "keywords": "绿化,树木,草坪"},
    {"code": "infrastructure", "name": "道路与公共设施", "name_en": "Roads and public facilities", "group": "居住环境",
     "description": "路面破损、井盖、健身器材、无障碍设施", "keywords": "道路,井盖,健身器材,无障碍"},
    {"code": "parking", "name": "停车管理", "name_en": "Parking", "group": "居住环境",
     "description": "乱停车、占用消防通道、充电桩", "keywords": "停车,消防通道,充电"},
    {"code": "safety", "name": "安全隐患", "name_en": "Safety hazards", "group": "平安社区",
     "description": "消防、高空坠物、飞线充电、危房等隐患", "keywords": "消防,隐患,飞线,坠物",
     "attributes": [_choice("danger_now", "现在是否有人身或财产危险？", [("yes", "是，情况紧急"), ("no", "否")])],
     "default_priority": Priority.HIGH},
    {"code": "noise", "name": "噪音扰民", "name_en": "Noise", "group": "平安社区",
     "description": "装修、广场舞、商铺噪音", "keywords": "噪音,装修,扰民",
     "attributes": [_choice("when", "通常在什么时间", [("day", "白天"), ("evening", "晚间"), ("night", "夜间 22 点后")])]},
    {"code": "dispute", "name": "邻里纠纷", "name_en": "Neighbour disputes", "group": "平安社区",
     "description": "邻里矛盾，需要社区调解", "keywords": "纠纷,调解,邻居", "default_priority": Priority.COMPLEX,
     "excluded_from_satisfaction": True, "default_handler_role": Role.COMMUNITY_STAFF},
    {"code": "pets", "name": "宠物管理", "name_en": "Pets", "group": "平安社区",
     "description": "犬只扰民、不拴绳、粪便", "keywords": "宠物,狗,犬"},
    {"code": "elderly_help", "name": "为老帮扶", "name_en": "Help for older people", "group": "民生服务",
     "description": "独居老人需要帮助、助餐、助浴、陪诊", "keywords": "老人,助餐,陪诊,帮扶",
     "default_handler_role": Role.COMMUNITY_STAFF},
    {"code": "admin_question", "name": "政策咨询与办事", "name_en": "Questions and paperwork", "group": "民生服务",
     "description": "证明开具、社保医保、政策咨询", "keywords": "证明,社保,医保,咨询",
     "default_handler_role": Role.COMMUNITY_STAFF, "allow_anonymous": True},
    {"code": "suggestion", "name": "意见建议", "name_en": "Suggestions", "group": "参与共治",
     "description": "对社区工作和服务的建议", "keywords": "建议,意见", "allow_anonymous": True,
     "default_handler_role": Role.COMMITTEE_LEAD},
    {"code": "complaint", "name": "投诉", "name_en": "Complaints", "group": "参与共治",
     "description": "对服务或工作人员的投诉", "keywords": "投诉", "allow_anonymous": True,
     "default_handler_role": Role.COMMITTEE_LEAD},
]


def categories_install() -> int:
    """Create the categories that do not exist yet (an administrator's edits are kept)."""
    created = 0
    for order, spec in enumerate(CATEGORIES, start=1):
        defaults = {"order": order * 10, **{k: v for k, v in spec.items() if k != "code"}}
        _obj, was_created = Category.objects.get_or_create(code=spec["code"], defaults=defaults)
        created += was_created
    return created
