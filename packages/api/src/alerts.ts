/**
 * @module alerts
 * Alerts the vault raises (failed backups, critical operations…), their deliveries, and each
 * vault's notification targets (webhook, e-mail).
 */
import { Type, type Static } from 'typebox';
import { EntityId, QueryInteger, Timestamp } from './common.js';

export const AlertSeverity = Type.Union([
  Type.Literal('info'),
  Type.Literal('warning'),
  Type.Literal('critical'),
]);
export type AlertSeverity = Static<typeof AlertSeverity>;

export const AlertState = Type.Union([
  Type.Literal('open'),
  Type.Literal('acknowledged'),
  Type.Literal('resolved'),
]);
export type AlertState = Static<typeof AlertState>;

/**
 * Kinds of alert, as stable names. One open alert exists per (vault, kind, subject); raising it
 * again counts instead of creating another.
 */
export const ALERT_KINDS = {
  /** A tenant user token was created (a critical operation). */
  tokenCreated: 'token.created',
  /** A backup job failed (resolved by the item's next successful backup). */
  backupFailed: 'backup.failed',
  /** A backup finished with warnings (resolved by the item's next clean backup). */
  backupWarnings: 'backup.warnings',
  /** A scheduled backup did not start (resolved by the item's next successful backup). */
  backupMissed: 'backup.missed',
  /** An agent has not contacted the vault for longer than the threshold (resolved when it does). */
  agentOffline: 'agent.offline',
  /** Critical operations (acknowledge them). */
  protectionStopped: 'protection.stopped',
  retentionShortened: 'retention.shortened',
  softDeleteShortened: 'soft-delete.shortened',
  immutabilityChanged: 'immutability.changed',
} as const;

export const DeliveryState = Type.Union([
  Type.Literal('pending'),
  Type.Literal('delivered'),
  Type.Literal('failed'),
]);
export type DeliveryState = Static<typeof DeliveryState>;

/** One notification of one alert to one target. */
export const AlertDelivery = Type.Object({
  id: EntityId,
  channel: Type.Union([Type.Literal('webhook'), Type.Literal('email')]),
  /** The e-mail address, or the webhook's origin (its path may be a secret). */
  target: Type.String(),
  state: DeliveryState,
  attempts: Type.Integer({ minimum: 0 }),
  lastError: Type.Optional(Type.String()),
  lastAttemptAt: Type.Optional(Timestamp),
  /** When a pending delivery is tried next. */
  nextAttemptAt: Type.Optional(Timestamp),
  deliveredAt: Type.Optional(Timestamp),
});
export type AlertDelivery = Static<typeof AlertDelivery>;

export const Alert = Type.Object({
  id: EntityId,
  tenantId: EntityId,
  /** Absent for alerts about the tenant as a whole (e.g. a token created). */
  vaultId: Type.Optional(EntityId),
  kind: Type.String(),
  /** What the alert is about: an item, agent, token… id. */
  subject: Type.String(),
  severity: AlertSeverity,
  state: AlertState,
  message: Type.String(),
  firstRaised: Timestamp,
  lastRaised: Timestamp,
  /** How many times the problem was raised while this alert was open. */
  count: Type.Integer({ minimum: 1 }),
  acknowledgedAt: Type.Optional(Timestamp),
  acknowledgedBy: Type.Optional(Type.String()),
  resolvedAt: Type.Optional(Timestamp),
  deliveries: Type.Array(AlertDelivery),
});
export type Alert = Static<typeof Alert>;

export const AlertQuery = Type.Object(
  {
    state: Type.Optional(AlertState),
    vault: Type.Optional(EntityId),
    /** At most this many alerts, newest first (1 to 1000, default 100). */
    limit: Type.Optional(QueryInteger),
  },
  { additionalProperties: false },
);
export type AlertQuery = Static<typeof AlertQuery>;

export const AlertList = Type.Object({ alerts: Type.Array(Alert) });
export type AlertList = Static<typeof AlertList>;

/** A webhook URL: http or https only. */
export const WebhookUrl = Type.String({
  minLength: 8,
  maxLength: 2048,
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
});
/** A webhook signing secret; stored as given (it signs), never returned. */
export const WebhookSecret = Type.String({ minLength: 16, maxLength: 256 });
export const EmailAddress = Type.String({ format: 'email', maxLength: 254 });
/** Most e-mail recipients one vault may have. */
export const MAX_EMAIL_RECIPIENTS = 20;

/**
 * Changes a vault's notification targets. An absent field is left as it is; `webhook: null`
 * and `emails: []` remove them.
 */
export const SetNotifyRequest = Type.Object(
  {
    webhook: Type.Optional(
      Type.Union([
        Type.Object({ url: WebhookUrl, secret: WebhookSecret }, { additionalProperties: false }),
        Type.Null(),
      ]),
    ),
    emails: Type.Optional(
      Type.Array(EmailAddress, { maxItems: MAX_EMAIL_RECIPIENTS, uniqueItems: true }),
    ),
  },
  { additionalProperties: false },
);
export type SetNotifyRequest = Static<typeof SetNotifyRequest>;

export const NotifySettings = Type.Object({
  vaultId: EntityId,
  webhook: Type.Union([
    Type.Object({
      /** In full for users who may change it; only the origin for readers. */
      url: Type.String(),
      /** Always `set`: the secret is never returned. */
      secret: Type.Literal('set'),
    }),
    Type.Null(),
  ]),
  emails: Type.Array(Type.String()),
  /** Whether this vault was started with an SMTP server, without which e-mails cannot go out. */
  mail: Type.Boolean(),
});
export type NotifySettings = Static<typeof NotifySettings>;

export const NotifyTestResult = Type.Object({
  results: Type.Array(
    Type.Object({
      channel: Type.Union([Type.Literal('webhook'), Type.Literal('email')]),
      target: Type.String(),
      ok: Type.Boolean(),
      error: Type.Optional(Type.String()),
    }),
  ),
});
export type NotifyTestResult = Static<typeof NotifyTestResult>;
