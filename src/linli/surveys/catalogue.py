"""The two ready questionnaires: 社区居民满意度测评 (every block of SATISFACTION-MODEL.md,
three items each on ACSI's 1–10 scale, plus background questions) and 居民需求调查
(what services and activities residents want, and when and how to reach them).

Texts are marked with ``gettext_noop``: a questionnaire is stored in the language it
was installed in, so the words residents answered stay the words on record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_noop as N_

from linli.surveys.models import Kind, Mechanism, Template

AGREE = (N_("完全不同意"), N_("完全同意"))


@dataclass(frozen=True)
class QuestionSpec:
    text: str
    kind: str = Kind.SCALE_1_10
    code: str = ""
    required: bool = True
    help: str = ""
    options: tuple[str, ...] = ()
    max_choices: int = 0
    labels: tuple[str, str] = AGREE


@dataclass(frozen=True)
class DimensionSpec:
    code: str
    name: str
    mechanism: str
    questions: tuple[QuestionSpec, ...]


@dataclass(frozen=True)
class TemplateSpec:
    title: str
    intro: str
    purpose: str
    dimensions: tuple[DimensionSpec, ...]
    # Questions outside any dimension (background, free text), after the dimensions.
    extra: tuple[QuestionSpec, ...] = field(default_factory=tuple)


def _items(code: str, *texts: str, labels: tuple[str, str] = AGREE) -> tuple[QuestionSpec, ...]:
    return tuple(QuestionSpec(text=text, code=f"{code}{i}", labels=labels) for i, text in enumerate(texts, 1))


AGE = QuestionSpec(
    text=N_("您的年龄段"), kind=Kind.SINGLE, code="AGE",
    options=(N_("18–34 岁"), N_("35–59 岁"), N_("60–69 岁"), N_("70–79 岁"), N_("80 岁及以上")),
)

SATISFACTION = TemplateSpec(
    title=N_("社区居民满意度测评"),
    intro=N_("为了解您对社区工作的评价、找准下一步改进的重点，请根据您的真实感受作答。"
             "每道评分题 1 分表示最低、10 分表示最高，约需 8 分钟。"),
    purpose=N_("了解居民对社区各项工作的满意程度，计算社区满意度指数并确定改进重点。"),
    dimensions=(
        DimensionSpec("COMM", N_("沟通与信息"), Mechanism.COMMUNICATION, _items(
            "COMM", N_("向社区反映问题或提出建议很方便"), N_("社区的通知和信息发布及时"),
            N_("社区发布的信息清楚易懂"))),
        DimensionSpec("RESP", N_("诉求办理"), Mechanism.REQUESTS, _items(
            "RESP", N_("反映问题后，社区很快就有回应"), N_("反映的问题得到了实际解决"),
            N_("社区会把处理结果告诉我"))),
        DimensionSpec("DEMO", N_("民主协商"), Mechanism.DEMOCRACY, _items(
            "DEMO", N_("社区的重大事项会征求居民意见"), N_("居民能够参与社区事务的决策（如议事会、投票）"),
            N_("社区作出的决定会向居民说明理由"))),
        DimensionSpec("SERV", N_("便民服务"), Mechanism.SERVICES, _items(
            "SERV", N_("社区提供的服务符合居民的实际需要"), N_("社区服务种类丰富（养老、托幼、健康、文化等）"),
            N_("在社区办事手续简便、快捷"))),
        DimensionSpec("ENV", N_("环境与安全"), Mechanism.ENVIRONMENT, _items(
            "ENV", N_("小区环境干净整洁"), N_("绿化和公共设施维护得好"), N_("在社区里生活感到安全"))),
        DimensionSpec("ACT", N_("活动与互助"), Mechanism.ACTIVITIES, _items(
            "ACT", N_("社区组织的活动值得参加"), N_("有合适的兴趣小组或志愿服务队可以加入"),
            N_("邻里之间能够互相帮助"))),
        DimensionSpec("CARE", N_("关爱特殊群体"), Mechanism.CARE, _items(
            "CARE", N_("社区关心照顾老年人"), N_("社区关心帮助残疾人"), N_("社区关心帮助生活困难的家庭"))),
        DimensionSpec("STAFF", N_("工作人员"), Mechanism.STAFF, _items(
            "STAFF", N_("社区工作人员业务熟练"), N_("社区工作人员态度热情、有礼貌"), N_("社区工作人员办事效率高"))),
        DimensionSpec("OPEN", N_("公开与监督"), Mechanism.DISCLOSURE, _items(
            "OPEN", N_("社区的工作和事务及时公开"), N_("社区的经费使用公开透明"),
            N_("居民可以对社区工作进行评议和监督"))),
        DimensionSpec("SAT", N_("总体满意度"), Mechanism.OVERALL, (
            QuestionSpec(N_("总的来说，您对本社区居委会的工作满意吗？"), code="SAT1",
                         labels=(N_("非常不满意"), N_("非常满意"))),
            QuestionSpec(N_("与您原先的期望相比，社区工作做得怎么样？"), code="SAT2",
                         labels=(N_("远低于期望"), N_("远超过期望"))),
            QuestionSpec(N_("与您心目中理想的社区相比，本社区怎么样？"), code="SAT3",
                         labels=(N_("相差很远"), N_("非常接近"))),
        )),
        DimensionSpec("TRUST", N_("信任"), Mechanism.OUTCOME, (
            QuestionSpec(N_("我信任居委会的工作"), code="TRUST1"),
            QuestionSpec(N_("遇到困难时，我相信社区会帮忙"), code="TRUST2"),
            QuestionSpec(N_("您会向亲友推荐住在本社区吗？"), code="TRUST3", labels=(N_("肯定不会"), N_("肯定会"))),
        )),
        DimensionSpec("PART", N_("参与与归属"), Mechanism.OUTCOME, _items(
            "PART", N_("我愿意参与社区的公共事务"), N_("我对本社区有归属感"),
            N_("未来一年，我愿意参加社区活动或志愿服务"))),
    ),
    extra=(
        AGE,
        QuestionSpec(
            text=N_("您的家庭类型"), kind=Kind.SINGLE, code="HOUSEHOLD",
            options=(N_("独自居住"), N_("夫妻二人"), N_("与子女同住"), N_("三代同堂"), N_("合租或其他")),
        ),
        QuestionSpec(
            text=N_("您或家人是否属于以下群体？"), kind=Kind.MULTIPLE, code="GROUP", required=False,
            help=N_("选填，可以不答；只用于分群体统计，不会与您的姓名关联。"),
            options=(N_("60 岁以上老年人"), N_("残疾人或其家属"), N_("低保或生活困难家庭"),
                     N_("有 0–6 岁儿童的家庭"), N_("以上都不是")),
        ),
        QuestionSpec(text=N_("您最希望社区改进的一件事是什么？"), kind=Kind.TEXT, code="IMPROVE", required=False),
    ),
)

SERVICES = (
    N_("养老服务（助餐、日间照料、上门护理）"), N_("儿童托管与课后服务"), N_("健康服务（义诊、慢病管理、心理健康）"),
    N_("文化活动（读书、书画、戏曲）"), N_("体育健身"), N_("法律咨询与纠纷调解"), N_("就业创业指导"),
    N_("志愿服务"), N_("便民服务（维修、理发、家政）"), N_("邻里互助与兴趣小组"),
)

NEEDS = TemplateSpec(
    title=N_("居民需求调查"),
    intro=N_("社区准备安排下一阶段的服务和活动，想先听听您的需要。约需 3 分钟。"),
    purpose=N_("了解居民需要哪些服务和活动、什么时间方便参加，用于安排社区服务和活动。"),
    dimensions=(),
    extra=(
        QuestionSpec(text=N_("您和家人需要社区提供哪些服务？"), kind=Kind.MULTIPLE, code="NEED_SERVICES",
                     help=N_("最多选 5 项"), options=SERVICES, max_choices=5),
        QuestionSpec(text=N_("其中您最需要的一项是？"), kind=Kind.SINGLE, code="NEED_TOP", options=SERVICES),
        QuestionSpec(
            text=N_("您愿意参加哪些社区活动？"), kind=Kind.MULTIPLE, code="NEED_ACTIVITIES", required=False,
            options=(N_("节日联欢"), N_("亲子活动"), N_("老年大学与兴趣班"), N_("健康讲座"), N_("体育比赛"),
                     N_("环保与清洁行动"), N_("安全与防诈骗宣传"), N_("志愿服务活动")),
        ),
        QuestionSpec(
            text=N_("您什么时间方便参加？"), kind=Kind.MULTIPLE, code="NEED_WHEN",
            options=(N_("工作日白天"), N_("工作日晚上"), N_("周末")),
        ),
        QuestionSpec(
            text=N_("您希望通过什么方式获得社区的服务和活动信息？"), kind=Kind.MULTIPLE, code="NEED_CHANNEL",
            options=(N_("居民微信群"), N_("社区公众号或小程序"), N_("楼道公告栏"), N_("网格员上门告知"),
                     N_("电话或短信")),
        ),
        AGE,
        QuestionSpec(text=N_("您还有哪些需求或建议？"), kind=Kind.TEXT, code="NEED_TEXT", required=False),
    ),
)

TEMPLATES: dict[str, TemplateSpec] = {Template.SATISFACTION: SATISFACTION, Template.NEEDS: NEEDS}
