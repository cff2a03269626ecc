"""The summary laid out as sections of tables, the same for every file format. Each cell is
a :class:`~services.reporting.exports.formatting.Figure`, so every format shows a rate, an
NPS, a duration or an amount the same way."""
from dataclasses import dataclass

from services.reporting.exports import formatting as fmt
from services.reporting.labels import Labels

# Which tables get a chart, and of which kind.
CHARTS = {"customers_by_type": "pie", "tickets_by_state": "bar",
          "tickets_by_service_type": "bar"}


@dataclass(frozen=True)
class Table:
    key: str              # heading key
    columns: tuple        # heading keys of the value columns
    rows: list            # [(item label, [Figure per column])]


@dataclass(frozen=True)
class Section:
    key: str
    tables: list


def counts_table(key: str, counts: dict, labels: Labels) -> Table:
    return Table(key, ("count",), [(labels.value(code), [fmt.count(n)])
                                   for code, n in counts.items()])


def ratings_table(key: str, groups: dict, labels: Labels) -> Table:
    return Table(key, ("count", "average", "csat", "nps"), [
        (labels.value(code), [fmt.count(figures["count"]), fmt.score(figures["average"]),
                              fmt.rate(figures["csat"]), fmt.nps(figures["nps"])])
        for code, figures in groups.items()])


def amounts_table(key: str, amounts: dict, labels: Labels, currency: str) -> Table:
    return Table(key, ("amount",), [(labels.value(code), [fmt.money(amount, currency)])
                                    for code, amount in amounts.items()])


def revenue_section(revenue: dict, labels: Labels, currency: str) -> Section:
    return Section("revenue", [
        Table("revenue_figures", ("value",), [
            (labels.heading("revenue_total"), [fmt.money(revenue["total"], currency)]),
            (labels.heading("deals"), [fmt.count(revenue["deals"])])]),
        *(amounts_table(f"revenue_{name}", revenue[name], labels, currency)
          for name in ("by_customer_type", "by_industry", "by_owner", "by_month"))])


def feedback_section(feedback: dict, labels: Labels) -> Section:
    cooperate = feedback["would_cooperate_again"]
    return Section("feedback", [
        Table("survey_answers", ("value",), [
            (labels.heading(name), [fmt.score(feedback[name])])
            for name in ("quality", "speed", "effectiveness")] + [
            (labels.heading("cooperate_answered"), [fmt.count(cooperate["answered"])])] + [
            (labels.heading(f"cooperate_{answer}"), [fmt.rate(cooperate[answer])])
            for answer in ("yes", "maybe", "no")]),
        Table("top_categories", ("service_type", "count"), [
            (labels.value(pair["category"]),
             [fmt.plain(labels.value(pair["service_type"])), fmt.count(pair["count"])])
            for pair in feedback["top_categories"]]),
    ])


def sla_table(sla: dict, labels: Labels) -> Table:
    return Table("sla_compliance", ("met", "breached", "compliance"), [
        (labels.value(clock), [fmt.count(figures["met"]), fmt.count(figures["breached"]),
                               fmt.rate(figures["compliance"])])
        for clock, figures in sla.items()])


def sections(report: dict, labels: Labels, currency: str = fmt.DEFAULT_CURRENCY) -> list[Section]:
    """The summary's sections; those of figures the summary lacks (an older reporting
    service, or no workflow service) are left out."""
    customers, followups, tickets = report["customers"], report["followups"], report["tickets"]
    satisfaction, backlog = report["satisfaction"], report["backlog"]
    overview = [
        ("from", fmt.plain(report["range"]["from"])), ("to", fmt.plain(report["range"]["to"])),
        ("total", fmt.count(customers["total"])), ("new", fmt.count(customers["new"])),
        ("converted", fmt.count(customers["converted"])),
        ("conversion_rate", fmt.rate(customers["conversion_rate"])),
        ("followups_total", fmt.count(followups["total"])),
        ("success_rate", fmt.rate(followups["success_rate"])),
        ("created", fmt.count(tickets["created"])),
        ("late_entries", fmt.count(tickets["late_entries"])),
        ("open", fmt.count(backlog["open"])),
        ("ratings", fmt.count(satisfaction["count"])),
        ("average", fmt.score(satisfaction["average"])),
        ("csat", fmt.rate(satisfaction["csat"])), ("nps", fmt.nps(satisfaction["nps"])),
    ]
    return [
        Section("overview", [Table("figures", ("value",),
                                   [(labels.heading(key), [value]) for key, value in overview])]),
        Section("customers", [counts_table(f"customers_{name}", customers[name], labels)
                              for name in ("by_type", "by_grade", "by_industry", "by_source",
                                           "by_status", "by_value_tier") if name in customers]),
        *([revenue_section(report["revenue"], labels, currency)] if "revenue" in report else []),
        Section("followups", [counts_table("followups_by_outcome", followups["by_outcome"],
                                           labels)] + ([Table(
            "followups_by_owner", ("count", "success_rate"), [
                (owner, [fmt.count(figures["count"]), fmt.rate(figures["success_rate"])])
                for owner, figures in followups["by_owner"].items()])]
            if "by_owner" in followups else [])),
        Section("tickets", [counts_table(f"tickets_{name}", tickets[name], labels)
                            for name in ("by_state", "by_status_label", "by_service_type",
                                         "by_category", "by_priority", "by_channel",
                                         "by_department")]),
        *([feedback_section(report["feedback"], labels)] if "feedback" in report else []),
        Section("satisfaction", [
            ratings_table("satisfaction_by_service_type", satisfaction["by_service_type"], labels),
            ratings_table("satisfaction_by_customer_type", satisfaction["by_customer_type"],
                          labels)]),
        Section("sla", [sla_table(report["sla"], labels)]),
        Section("times", [Table("time_quantiles", ("median", "p90"), [
            (labels.heading(name), [fmt.duration(figures["median"]), fmt.duration(figures["p90"])])
            for name, figures in report["times"].items()])]),
        Section("backlog", [counts_table("backlog_ageing", backlog["ageing"], labels)]),
    ]
