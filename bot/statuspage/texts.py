"""The page's own words in both languages, and how times are written on it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.clock import in_zone, utc_offset_label
from bot.domain.plan_sections import Locale
from bot.domain.plan_status_page import ComponentStatus
from bot.statuspage.updates import UpdateStatus

# Statuspage's page indicator and description by the worst component status.
_INDICATOR = {
    ComponentStatus.OPERATIONAL: "none",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}
_DESCRIPTION = {
    Locale.EN: {
        ComponentStatus.OPERATIONAL: "All Systems Operational",
        ComponentStatus.UNDER_MAINTENANCE: "Service Under Maintenance",
        ComponentStatus.DEGRADED_PERFORMANCE: "Minor Service Outage",
        ComponentStatus.PARTIAL_OUTAGE: "Partial System Outage",
        ComponentStatus.MAJOR_OUTAGE: "Major System Outage",
    },
    Locale.ZH_CN: {
        ComponentStatus.OPERATIONAL: "所有服务运行正常",
        ComponentStatus.UNDER_MAINTENANCE: "部分服务正在维护",
        ComponentStatus.DEGRADED_PERFORMANCE: "部分服务性能下降",
        ComponentStatus.PARTIAL_OUTAGE: "部分服务中断",
        ComponentStatus.MAJOR_OUTAGE: "服务严重中断",
    },
}
COMPONENT_LABELS = {
    Locale.EN: {
        ComponentStatus.OPERATIONAL: "Operational",
        ComponentStatus.UNDER_MAINTENANCE: "Under maintenance",
        ComponentStatus.DEGRADED_PERFORMANCE: "Degraded performance",
        ComponentStatus.PARTIAL_OUTAGE: "Partial outage",
        ComponentStatus.MAJOR_OUTAGE: "Major outage",
    },
    Locale.ZH_CN: {
        ComponentStatus.OPERATIONAL: "正常",
        ComponentStatus.UNDER_MAINTENANCE: "维护中",
        ComponentStatus.DEGRADED_PERFORMANCE: "性能下降",
        ComponentStatus.PARTIAL_OUTAGE: "部分中断",
        ComponentStatus.MAJOR_OUTAGE: "严重中断",
    },
}
UPDATE_LABELS = {
    Locale.EN: {
        UpdateStatus.INVESTIGATING: "Investigating",
        UpdateStatus.IDENTIFIED: "Identified",
        UpdateStatus.MONITORING: "Monitoring",
        UpdateStatus.RESOLVED: "Resolved",
    },
    Locale.ZH_CN: {
        UpdateStatus.INVESTIGATING: "处理中",
        UpdateStatus.IDENTIFIED: "已定位",
        UpdateStatus.MONITORING: "监控中",
        UpdateStatus.RESOLVED: "已解决",
    },
}
WORDS = {
    Locale.EN: {
        "lang": "en",
        "other_lang": "中文",
        "other_code": "zh-CN",
        "components": "Services",
        "active": "Current incidents",
        "maintenance": "Scheduled maintenance",
        "maintenance_window": "From {start} to {end}",
        "history": "Past incidents",
        "no_incidents": "No incidents reported.",
        "no_history": "No incidents in the last {days} days.",
        "times_in": "Times in {zone}",
        "support": "Questions? Contact",
        "updated": "Updated",
        "feed": "Atom feed",
    },
    Locale.ZH_CN: {
        "lang": "zh-CN",
        "other_lang": "English",
        "other_code": "en",
        "components": "服务",
        "active": "当前事件",
        "maintenance": "计划维护",
        "maintenance_window": "{start} 至 {end}",
        "history": "历史事件",
        "no_incidents": "无事件。",
        "no_history": "最近 {days} 天没有事件。",
        "times_in": "时间为{zone}",
        "support": "如有疑问，请联系",
        "updated": "更新于",
        "feed": "订阅 (Atom)",
    },
}


def indicator(worst: ComponentStatus) -> str:
    return _INDICATOR[worst]


def status_description(worst: ComponentStatus, locale: Locale) -> str:
    return _DESCRIPTION[locale][worst]


def zone_label(tz: ZoneInfo, locale: Locale, at: datetime) -> str:
    offset = utc_offset_label(in_zone(at, tz))
    if locale is Locale.ZH_CN and tz.key == "Asia/Shanghai" and offset == "UTC+8":
        return "北京时间"
    return offset


def show_time(value: datetime, tz: ZoneInfo, locale: Locale) -> str:
    """``2026-11-25 12:30`` (the zone is said once on the page)."""
    return in_zone(value, tz).strftime("%Y-%m-%d %H:%M")


def show_day(value: datetime, tz: ZoneInfo, locale: Locale) -> str:
    local = in_zone(value, tz)
    if locale is Locale.ZH_CN:
        return f"{local.year}年{local.month}月{local.day}日"
    return f"{local:%b} {local.day}, {local.year}"
