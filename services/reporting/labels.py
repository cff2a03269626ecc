"""Headings and value names of the exports, in English and Chinese (SPEC §2–§5)."""

# key: (English, Chinese)
HEADINGS = {
    "title": ("deskflow report", "deskflow 数据报表"),
    "range": ("Range", "统计区间"),
    "from": ("From", "开始日期"),
    "to": ("To", "结束日期"),
    "section": ("Section", "部分"),
    "table": ("Table", "表"),
    "item": ("Item", "项目"),
    "measure": ("Measure", "指标"),
    "value": ("Value", "数值"),
    "overview": ("Overview", "概览"),
    "customers": ("Customers", "客户"),
    "followups": ("Follow-ups", "跟进记录"),
    "tickets": ("Tickets", "服务记录"),
    "satisfaction": ("Satisfaction", "满意度"),
    "sla": ("SLA", "服务时效"),
    "times": ("Response times", "响应时间"),
    "backlog": ("Backlog", "积压工单"),
    "figures": ("Figures", "主要指标"),
    "customers_by_type": ("Customers by type", "客户类型分布"),
    "customers_by_grade": ("Customers by grade", "客户等级分布"),
    "customers_by_industry": ("Customers by industry", "客户行业分布"),
    "customers_by_source": ("Customers by source", "客户来源分布"),
    "followups_by_outcome": ("Follow-ups by outcome", "跟进结果分布"),
    "tickets_by_state": ("Tickets by state", "工单状态分布"),
    "tickets_by_service_type": ("Tickets by service type", "服务类型分布"),
    "tickets_by_category": ("Tickets by category", "反馈类型分布"),
    "tickets_by_priority": ("Tickets by priority", "优先级分布"),
    "tickets_by_status_label": ("Tickets by processing status", "当前处理状态分布"),
    "tickets_by_channel": ("Tickets by channel", "反馈渠道分布"),
    "tickets_by_department": ("Tickets by department", "责任部门分布"),
    "satisfaction_by_service_type": ("Satisfaction by service type", "各服务类型满意度"),
    "satisfaction_by_customer_type": ("Satisfaction by customer type", "各客户类型满意度"),
    "sla_compliance": ("SLA compliance", "SLA 达成率"),
    "time_quantiles": ("Time to first response and resolution", "首次响应与解决时长"),
    "backlog_ageing": ("Open tickets by age", "未结工单账龄"),
    "no_data": ("No data", "暂无数据"),
    "pdf_rows_capped": ("The first {shown} of {total} rows are shown here; the CSV and Excel "
                        "exports hold every row.",
                        "此处仅列出前 {shown} 行（共 {total} 行）；CSV 与 Excel 导出包含全部明细。"),
    # trends (line charts)
    "trends": ("Trends", "趋势"),
    "week": ("Week", "周"),
    "month": ("Month", "月份"),
    "trend_tickets_created": ("Tickets created", "新建工单趋势"),
    "trend_revenue": ("Revenue", "销售额趋势"),
    "trend_satisfaction": ("Average satisfaction", "满意度趋势"),
    # measures
    "count": ("Count", "数量"),
    "total": ("Total", "总数"),
    "new": ("New customers", "新增客户"),
    "converted": ("Converted", "成交转化数"),
    "conversion_rate": ("Conversion rate", "转化率"),
    "followups_total": ("Follow-ups", "跟进次数"),
    "success_rate": ("Success rate", "跟进成功率"),
    "created": ("Tickets created", "新建工单"),
    "late_entries": ("Entered more than 24 h late", "超 24 小时录入"),
    "open": ("Open tickets", "未结工单"),
    "ratings": ("Ratings", "评价数"),
    "average": ("Average score", "平均分"),
    "csat": ("CSAT", "满意率 (CSAT)"),
    "nps": ("NPS", "净推荐值 (NPS)"),
    "met": ("Met", "达标"),
    "breached": ("Breached", "超时"),
    "compliance": ("Compliance", "达成率"),
    "median": ("Median", "中位数"),
    "p90": ("90th percentile", "90 分位"),
    "first_response_seconds": ("First response", "首次响应"),
    "resolution_seconds": ("Resolution", "解决"),
}

# Codes shown as themselves in English and translated in Chinese.
VALUES_ZH = {
    "prospect": "潜在", "intent": "意向", "deal": "成交", "churned": "流失",
    "A": "重点", "B": "普通", "C": "潜力",
    "TECH": "科技", "MFG": "制造业", "RETAIL": "零售业", "SVC": "服务业", "FIN": "金融",
    "EDU": "教育", "GOV": "政府", "OTHER": "其他",
    "exhibition": "展会", "referral": "转介绍", "online": "线上", "visit": "主动拜访",
    "other": "其他", "unspecified": "未填写", "unknown": "未知",
    "positive": "积极", "neutral": "一般", "negative": "消极",
    "pending": "待处理", "in_progress": "处理中", "done": "已完成", "closed": "已关闭",
    "presales": "售前咨询", "insales": "售中支持", "aftersales": "售后维护",
    "value_added": "增值服务",
    "inquiry": "咨询", "complaint": "投诉", "suggestion": "建议", "need": "需求",
    "cooperation": "合作意向",
    # the feedback form's processing states (当前处理状态) and channels
    "awaiting_customer": "待跟进", "unresolvable": "无法解决",
    "phone": "电话", "email": "邮件", "meeting": "会议", "online_form": "在线表单",
    "high": "高", "medium": "中", "low": "低",
    "first_response": "首次响应", "resolution": "解决", "update": "进度更新",
    "0-1d": "1 天内", "1-3d": "1–3 天", "3-7d": "3–7 天", "7d+": "7 天以上",
}


class Labels:
    def __init__(self, lang: str):
        self.lang = lang
        self._index = 1 if lang == "zh" else 0

    def heading(self, key: str) -> str:
        return HEADINGS[key][self._index]

    def value(self, code: str) -> str:
        return VALUES_ZH.get(code, code) if self.lang == "zh" else code
