"use strict";
// Labels and alert-summary templates in English, Chinese and Russian. A summary template is
// filled from the alert's subject and metrics; when a value it needs is missing, the page
// falls back to the English summary the detector wrote.
window.PARKLINK_I18N = {
  labels: {
    en: {
      title: "ParkLink operator console", language: "Language", token_hint: "console token",
      save_token: "Use token", status: "Status", severity: "Severity", type: "Type", park: "Park",
      corridor: "Corridor", search: "Search", any: "any", summary: "Summary", updated: "Updated",
      ack: "Ack", no_alerts: "No alerts match.", pick_alert: "Select an alert to see its details.",
      network: "Parks and corridors", over_time: "Firing alerts, last 24 h", online: "live",
      offline: "offline", need_token: "Enter a console token (parklink token issue --operator NAME, --park-operator PARK NAME or --viewer NAME).",
      bad_token: "The token was refused: it is unknown, revoked or expired.",
      impact: "Impact chain", parks: "Parks", orders: "Orders", shipments: "Shipments",
      evidence: "Evidence (event ids)", metrics: "Metrics", history: "History", acks: "Acknowledgements",
      acknowledge: "Acknowledge", comment: "comment", silence: "Silence", silence_for: "for",
      this_alert: "this alert", this_type: "this type", this_corridor: "this corridor",
      started: "Started", resolved: "Resolved", subject: "Subject", acked_by: "acknowledged by",
      silenced: "silenced", alerts_shown: "{n} of {total} alerts", none: "none",
      FIRING: "FIRING", RESOLVED: "RESOLVED", CRITICAL: "CRITICAL", WARNING: "WARNING", INFO: "INFO",
      SHIPMENT_DELAY: "Shipment delay", CAPACITY_SHORTFALL: "Capacity shortfall",
      CAPACITY_DROP: "Capacity drop", CORRIDOR_CONGESTION: "Corridor congestion", PARK_SILENT: "Park silent",
      hours: "h", saved_ack: "Acknowledged.", saved_silence: "Silenced until {t}.",
      signed_in: "{name} · {role}", role_operator: "alliance operator",
      role_park_operator: "operator of {park}", role_viewer: "viewer (read only)",
      read_only: "This token may read alerts, not change them.",
      forbidden: "This token may not do that.", stream_closed: "The live stream was closed: the token was revoked or expired.",
      announce: "{severity} {status}: {summary}", details: "Alert details", alerts_caption: "Alerts",
      silence_scope: "What to silence", silence_duration: "How long",
      map_park: "{park}: {n} firing", map_corridor: "Corridor {corridor}: {n} firing",
      may: "may {what}", read_only_short: "read only", may_acknowledge: "acknowledge",
      may_silence: "silence", may_webhooks: "manage webhooks", may_audit: "read the audit trail"
    },
    zh: {
      title: "ParkLink 运营控制台", language: "语言", token_hint: "运营令牌", save_token: "使用令牌",
      status: "状态", severity: "严重程度", type: "类型", park: "园区", corridor: "走廊", search: "搜索",
      any: "全部", summary: "摘要", updated: "更新时间", ack: "确认", no_alerts: "没有匹配的告警。",
      pick_alert: "选择一条告警查看详情。", network: "园区与走廊", over_time: "过去 24 小时的活跃告警",
      online: "实时", offline: "离线", need_token: "请输入运营令牌（parklink token issue --operator NAME）。",
      bad_token: "令牌被拒绝：需要运营令牌。", impact: "影响链", parks: "园区", orders: "订单",
      shipments: "货运", evidence: "证据（事件 ID）", metrics: "指标", history: "历史", acks: "确认记录",
      acknowledge: "确认", comment: "备注", silence: "静默", silence_for: "时长",
      this_alert: "此告警", this_type: "此类型", this_corridor: "此走廊", started: "开始",
      resolved: "解除", subject: "对象", acked_by: "确认人", silenced: "已静默",
      alerts_shown: "{n} / {total} 条告警", none: "无",
      FIRING: "告警中", RESOLVED: "已解除", CRITICAL: "严重", WARNING: "警告", INFO: "信息",
      SHIPMENT_DELAY: "货运延误", CAPACITY_SHORTFALL: "产能缺口", CAPACITY_DROP: "产能下降",
      CORRIDOR_CONGESTION: "走廊拥堵", PARK_SILENT: "园区静默", hours: "小时",
      saved_ack: "已确认。", saved_silence: "已静默至 {t}。",
      signed_in: "{name} · {role}", role_operator: "联盟运营", role_park_operator: "{park} 园区运营",
      role_viewer: "只读查看", read_only: "此令牌只能查看告警，不能修改。", forbidden: "此令牌无权执行该操作。",
      stream_closed: "实时连接已关闭：令牌已被撤销或已过期。", announce: "{severity} {status}：{summary}",
      details: "告警详情", alerts_caption: "告警", silence_scope: "静默范围", silence_duration: "静默时长",
      map_park: "{park}：{n} 条告警中", map_corridor: "走廊 {corridor}：{n} 条告警中",
      may: "可{what}", read_only_short: "只读", may_acknowledge: "确认", may_silence: "静默",
      may_webhooks: "管理 Webhook", may_audit: "查看审计记录"
    },
    ru: {
      title: "Консоль оператора ParkLink", language: "Язык", token_hint: "токен оператора",
      save_token: "Применить", status: "Статус", severity: "Важность", type: "Тип", park: "Парк",
      corridor: "Коридор", search: "Поиск", any: "все", summary: "Описание", updated: "Обновлено",
      ack: "Подтв.", no_alerts: "Нет подходящих оповещений.", pick_alert: "Выберите оповещение, чтобы увидеть подробности.",
      network: "Парки и коридоры", over_time: "Активные оповещения за 24 ч", online: "онлайн",
      offline: "нет связи", need_token: "Введите токен оператора (parklink token issue --operator NAME).",
      bad_token: "Токен отклонён: нужен токен оператора.", impact: "Цепочка влияния", parks: "Парки",
      orders: "Заказы", shipments: "Отправки", evidence: "Основания (id событий)", metrics: "Показатели",
      history: "История", acks: "Подтверждения", acknowledge: "Подтвердить", comment: "комментарий",
      silence: "Заглушить", silence_for: "на", this_alert: "это оповещение", this_type: "этот тип",
      this_corridor: "этот коридор", started: "Начало", resolved: "Снято", subject: "Объект",
      acked_by: "подтвердил", silenced: "заглушено", alerts_shown: "{n} из {total} оповещений", none: "нет",
      FIRING: "АКТИВНО", RESOLVED: "СНЯТО", CRITICAL: "КРИТИЧНО", WARNING: "ВНИМАНИЕ", INFO: "ИНФО",
      SHIPMENT_DELAY: "Задержка отправки", CAPACITY_SHORTFALL: "Нехватка мощности",
      CAPACITY_DROP: "Падение мощности", CORRIDOR_CONGESTION: "Затор в коридоре", PARK_SILENT: "Парк молчит",
      hours: "ч", saved_ack: "Подтверждено.", saved_silence: "Заглушено до {t}.",
      signed_in: "{name} · {role}", role_operator: "оператор альянса", role_park_operator: "оператор парка {park}",
      role_viewer: "наблюдатель (только чтение)", read_only: "Этот токен может только читать оповещения.",
      forbidden: "Этому токену это не разрешено.", stream_closed: "Поток закрыт: токен отозван или истёк.",
      announce: "{severity} {status}: {summary}", details: "Подробности оповещения", alerts_caption: "Оповещения",
      silence_scope: "Что заглушить", silence_duration: "На сколько",
      map_park: "{park}: активных {n}", map_corridor: "Коридор {corridor}: активных {n}",
      may: "может: {what}", read_only_short: "только чтение", may_acknowledge: "подтверждать",
      may_silence: "заглушать", may_webhooks: "управлять вебхуками", may_audit: "читать журнал аудита"
    }
  },
  // {subject}, {park}, {category}, {week} (from a park|category|week subject), {orders},
  // {shipments}, {parks} (counts) and any metric by name.
  summaries: {
    zh: {
      SHIPMENT_DELAY: "货运 {subject} 在 {corridor} 走廊延误 {delay_hours} 小时，影响 {orders} 个订单。",
      CAPACITY_SHORTFALL: "{park} 在 {week} 当周的 {category} 类产能不足：需求 {demand}，产能 {capacity}，影响 {orders} 个订单。",
      CAPACITY_DROP: "{park} 在 {week} 当周的 {category} 类产能由 {previous} 降至 {capacity}。",
      CORRIDOR_CONGESTION: "走廊 {subject} 拥堵：{shipments} 批货物延误，影响 {orders} 个订单。",
      PARK_SILENT: "园区 {subject} 已 {silent_hours} 小时未发布数据。"
    },
    ru: {
      SHIPMENT_DELAY: "Отправка {subject} опаздывает на {delay_hours} ч в коридоре {corridor}; затронуто заказов: {orders}.",
      CAPACITY_SHORTFALL: "Нехватка мощности {park} по категории {category} на неделе {week}: спрос {demand}, мощность {capacity}; затронуто заказов: {orders}.",
      CAPACITY_DROP: "Мощность {park} по категории {category} на неделе {week} упала с {previous} до {capacity}.",
      CORRIDOR_CONGESTION: "Затор в коридоре {subject}: задержано отправок: {shipments}, затронуто заказов: {orders}.",
      PARK_SILENT: "Парк {subject} не публикует данные уже {silent_hours} ч."
    }
  }
};
