"""Every text a notice is shown in, per kind and language (``en``, ``zh``), in one place.

Each message names the ticket or customer id and its title or name, and says what to do.
"""
LANGUAGES = ("en", "zh")

TEXTS = {
    "ticket_assigned": {
        "en": ("Ticket {ticket_id} is assigned to you",
               "Ticket {ticket_id} \"{title}\" (customer {customer_id}, priority {priority}) "
               "is now yours. Open it and respond before its first-response deadline."),
        "zh": ("工单 {ticket_id} 已分配给您",
               "工单 {ticket_id}「{title}」（客户 {customer_id}，优先级 {priority}）已由您负责。"
               "请在首次响应时限前打开并响应。"),
    },
    "sla_warning": {
        "en": ("SLA warning: ticket {ticket_id}",
               "Ticket {ticket_id} \"{title}\" has used 80% of its {clock} time; it is due at "
               "{due_at}. Act on it now to meet the deadline."),
        "zh": ("SLA 预警：工单 {ticket_id}",
               "工单 {ticket_id}「{title}」的{clock}时限已用去 80%，截止时间 {due_at}。"
               "请立即处理，以免超时。"),
    },
    "sla_breached": {
        "en": ("SLA breached: ticket {ticket_id}",
               "Ticket {ticket_id} \"{title}\" missed its {clock} deadline ({due_at}). "
               "Escalate: handle it at once or reassign it."),
        "zh": ("SLA 已超时：工单 {ticket_id}",
               "工单 {ticket_id}「{title}」已超过{clock}时限（{due_at}）。"
               "请升级处理：立即处理或转派他人。"),
    },
    "rating_request": {
        "en": ("Ticket {ticket_id} is done: ask for a rating",
               "Ticket {ticket_id} \"{title}\" for customer {customer_id} is done. Ask the "
               "customer for a satisfaction rating (1-5) and record it on the ticket."),
        "zh": ("工单 {ticket_id} 已完成：请邀请评价",
               "客户 {customer_id} 的工单 {ticket_id}「{title}」已完成。"
               "请邀请客户进行满意度评价（1-5 分）并录入工单。"),
    },
    "contact_changed": {
        "en": ("Contact details of customer {customer_id} changed",
               "The contact details of {customer_name} ({customer_id}) changed: {changes}. "
               "Check them before you next get in touch."),
        "zh": ("客户 {customer_id} 的联系方式已变更",
               "客户 {customer_name}（{customer_id}）的联系方式已变更：{changes}。"
               "请在下次联系前核对。"),
    },
    "review_rejected": {
        "en": ("Review of customer {customer_id} rejected",
               "{by} rejected your change to {customer_name} ({customer_id}): {note}. "
               "Correct it; the corrected record goes back to review."),
        "zh": ("客户 {customer_id} 的审核未通过",
               "{by} 退回了您对客户 {customer_name}（{customer_id}）的修改：{note}。"
               "请更正，更正后将重新进入审核。"),
    },
    "churn_risk": {
        "en": ("Churn risk: customer {customer_id}",
               "{customer_name} ({customer_id}), a {value_tier}-value customer (deal "
               "{deal_amount}) owned by {owner}, has had no contact for {quiet_days} days "
               "(last activity {last_activity_at}). Start a win-back: call or visit them."),
        "zh": ("高价值客户流失预警：客户 {customer_id}",
               "客户 {customer_name}（{customer_id}，价值等级 {value_tier}，成交额 {deal_amount}，"
               "负责人 {owner}）已 {quiet_days} 天无任何联系（最近活动 {last_activity_at}）。"
               "请启动挽回：回访或上门沟通。"),
    },
    "login_alert": {
        "en": ("New sign-in to your deskflow account",
               "Your account signed in at {at} from {address} ({user_agent}), a network it "
               "has not used in the last 90 days. If this was you, nothing needs doing; if not, "
               "change your password at once and tell an administrator."),
        "zh": ("登录异常提醒：您的 deskflow 账号在新的网络登录",
               "您的账号于 {at} 从 {address}（{user_agent}）登录，该网络在最近 90 天内未曾使用。"
               "如果是您本人操作，无需处理；如果不是，请立即修改密码并通知管理员。"),
    },
    "task_assigned": {
        "en": ("Task {task_id} is assigned to you",
               "Task {task_id} \"{title}\" (customer {customer_id}) is yours; it is due at "
               "{due_at}. Complete it with a note when it is done."),
        "zh": ("任务 {task_id} 已分配给您",
               "任务 {task_id}「{title}」（客户 {customer_id}）由您负责，截止时间 {due_at}。"
               "完成后请填写完成情况说明。"),
    },
    "task_due_soon": {
        "en": ("Task {task_id} is due soon",
               "Task {task_id} \"{title}\" (customer {customer_id}) is due at {due_at}. "
               "Do it now, or move its due date if it must wait."),
        "zh": ("任务 {task_id} 即将到期",
               "任务 {task_id}「{title}」（客户 {customer_id}）将于 {due_at} 到期。"
               "请尽快完成，如需延后请修改截止时间。"),
    },
    "task_overdue": {
        "en": ("Task {task_id} is overdue",
               "Task {task_id} \"{title}\" (customer {customer_id}) was due at {due_at} and "
               "is not done. Complete it, or reassign it if its assignee cannot."),
        "zh": ("任务 {task_id} 已逾期",
               "任务 {task_id}「{title}」（客户 {customer_id}）应于 {due_at} 完成，目前仍未完成。"
               "请立即完成，或改派他人。"),
    },
    "ticket_dissatisfied": {
        "en": ("Dissatisfied customer: ticket {ticket_id}",
               "The customer of ticket {ticket_id} \"{title}\" (customer {customer_id}) rated it "
               "{score} of 5: \"{comment}\". Call the customer, agree what happens next and follow "
               "it up until they are satisfied."),
        "zh": ("客户不满意：工单 {ticket_id}",
               "客户 {customer_id} 对工单 {ticket_id}「{title}」的评价为 {score} 分（满分 5 分）："
               "「{comment}」。请致电客户、商定后续措施，并持续跟进直至客户满意。"),
    },
    # To the customer (in their language only): 告知 of receipt, delay and outcome.
    "customer_acknowledgement": {
        "en": ("We have received your feedback ({ticket_id})",
               "Dear {contact_name},\n\nthank you for your feedback \"{title}\". We have "
               "recorded it as {ticket_id}. The person in charge will contact you shortly, keep "
               "you informed of progress and tell you the outcome. Please quote {ticket_id} "
               "when you contact us about it."),
        "zh": ("我们已收到您的反馈（{ticket_id}）",
               "尊敬的{contact_name}：\n\n感谢您的反馈「{title}」，我们已登记为 {ticket_id}。"
               "负责人将尽快与您联系，随时告知处理进展并告知处理结果。"
               "如需咨询，请提供编号 {ticket_id}。"),
    },
    "customer_delay": {
        "en": ("Your request {ticket_id} needs more time",
               "Dear {contact_name},\n\nwe planned to complete \"{title}\" ({ticket_id}) by "
               "{planned_completion_date}, but need more time. Reason: {reason}\n\nWe apologise "
               "for the delay and will tell you as soon as it is done."),
        "zh": ("您的反馈 {ticket_id} 需要延期处理",
               "尊敬的{contact_name}：\n\n您的反馈「{title}」（{ticket_id}）原计划于 "
               "{planned_completion_date} 前完成，现需延期处理。原因：{reason}\n\n"
               "对此深表歉意，处理完成后我们将第一时间告知您。"),
    },
    "monthly_report": {
        "en": ("Customer feedback analysis report {month}",
               "The customer feedback analysis report of {month} is attached ({filename}): "
               "NPS and satisfaction by service type and customer type, the most frequent "
               "problems, the suggestions and comments received, SLA compliance and late "
               "entries, each beside the month before. Plan next month's improvements from it."),
        "zh": ("《客户反馈分析报告》{month}",
               "附件为 {month} 的《客户反馈分析报告》（{filename}）：按服务类型与客户类型的 NPS 与"
               "满意度、高频问题类型、客户建议与意见、SLA 达成率及超时录入，并与上月对比。"
               "请据此制定下月的改进措施。"),
    },
    "customer_outcome": {
        "en": ("Your request {ticket_id} has been handled",
               "Dear {contact_name},\n\nyour feedback \"{title}\" ({ticket_id}) has been "
               "handled.\n\nSolution: {solution}\n\nPlease tell us how satisfied you are: "
               "{survey_url}\n\nThank you."),
        "zh": ("您的反馈 {ticket_id} 已处理完毕",
               "尊敬的{contact_name}：\n\n您的反馈「{title}」（{ticket_id}）已处理完毕。\n\n"
               "处理结果：{solution}\n\n请您对本次服务进行满意度评价：{survey_url}\n\n谢谢！"),
    },
}
# When the customer's notice has no contact name or no survey link.
CUSTOMER_DEFAULTS = {
    "en": {"contact_name": "customer", "survey_url": "(reply to this email)", "reason": "-"},
    "zh": {"contact_name": "客户", "survey_url": "（请直接回复本邮件）", "reason": "-"},
}

CLOCKS = {
    "first_response": {"en": "first-response", "zh": "首次响应"},
    "resolution": {"en": "resolution", "zh": "解决"},
    "update": {"en": "progress-update", "zh": "进度更新"},
}
FIELDS = {
    "phone": {"en": "phone", "zh": "联系电话"},
    "office_phone": {"en": "office phone", "zh": "办公电话"},
    "email": {"en": "email", "zh": "邮箱"},
    "contact_name": {"en": "contact name", "zh": "联系人"},
}
DIGEST = {
    "en": ("{count} notifications: {first}", "You have {count} new notifications:"),
    "zh": ("{count} 条通知：{first}", "您有 {count} 条新通知："),
}
ARROW = " → "


def _changes(changes: list[dict], lang: str) -> str:
    separator = "; " if lang == "en" else "；"
    return separator.join(
        f"{FIELDS.get(change['field'], {}).get(lang, change['field'])} "
        f"{change.get('before') or '-'}{ARROW}{change.get('after') or '-'}"
        for change in changes)


def render(kind: str, params: dict, lang: str = "en") -> tuple[str, str]:
    """The (title, body) of a notice in ``lang``."""
    title, body = TEXTS[kind][lang]
    values = dict(params)
    if "clock" in values:
        values["clock"] = CLOCKS.get(values["clock"], {}).get(lang, values["clock"])
    if "changes" in values:
        values["changes"] = _changes(values["changes"], lang)
    return title.format(**values), body.format(**values)


def render_customer_email(kind: str, params: dict, lang: str) -> tuple[str, str]:
    """An email to a customer: in their language only."""
    defaults = CUSTOMER_DEFAULTS[lang]
    filled = {**params, **{key: params.get(key) or value for key, value in defaults.items()}}
    return render(kind, filled, lang)


def render_email(notices: list[tuple[str, dict]]) -> tuple[str, str]:
    """One email for one notice or a digest of several, English first, then Chinese."""
    if len(notices) == 1:
        kind, params = notices[0]
        texts = [render(kind, params, lang) for lang in LANGUAGES]
        return " / ".join(title for title, _ in texts), "\n\n".join(body for _, body in texts)
    subjects, sections = [], []
    for lang in LANGUAGES:
        subject, heading = DIGEST[lang]
        first = render(*notices[0], lang)[0]
        subjects.append(subject.format(count=len(notices), first=first))
        lines = [f"- {title}: {body}" for title, body in (render(k, p, lang) for k, p in notices)]
        sections.append("\n".join([heading.format(count=len(notices)), *lines]))
    return " / ".join(subjects), "\n\n".join(sections)
