// Webhooks: what admins register (docs/api.md, "Webhooks") and what receivers get. The shapes both the server
// and the admin page use, and the request schemas.

import { stringEnum, Type, type PersonRef, type Static } from './schema.js';

/** The events a webhook endpoint may subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'invite.started',
  'attempt.submitted',
  'attempt.expired',
  'attempt.graded',
  'review.completed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

export const WEBHOOK_LIMITS = {
  url: 2000,
  secret: { min: 16, max: 200 },
  description: 200,
  /** Deliveries one page of an endpoint's log holds. */
  logPage: 100,
} as const;

/** A signing secret is printable ASCII without spaces (its length within WEBHOOK_LIMITS.secret). */
export const WEBHOOK_SECRET_PATTERN = '^[\\x21-\\x7e]+$';

/** Ids as they appear in paths. */
export const WEBHOOK_ID_PATTERNS = {
  endpoint: '^wh_[0-9a-f]{20}$',
  delivery: '^whd_[0-9a-f]{20}$',
} as const;

/** `Webhook` of docs/api.md: an endpoint as admins see it (never its secret). */
export interface WebhookView {
  id: string;
  url: string;
  description: string;
  events: WebhookEventType[];
  enabled: boolean;
  createdBy: PersonRef;
  createdAt: string;
  updatedAt: string;
  /** Deliveries waiting for their next try, and those that gave up. */
  pending: number;
  failed: number;
}

/** The answer to registering an endpoint or rotating its secret: the only time the secret is shown. */
export interface CreatedWebhook extends WebhookView {
  secret: string;
}

/** One delivery of one event to one endpoint, as the delivery log lists it. */
export interface WebhookDeliveryView {
  id: string;
  /** The event's id: the body's `id` and the `Opslab-Webhook-Id` header, the same on every try. */
  eventId: string;
  type: WebhookEventType;
  status: WebhookDeliveryStatus;
  /** Tries made so far. */
  tries: number;
  /** The HTTP status of the last answer; null when none came (refused address, timeout, connection error). */
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  lastTryAt: string | null;
  /** When the next try is due (pending deliveries only). */
  nextTryAt: string | null;
  deliveredAt: string | null;
}

/** `POST /api/manage/webhooks`. */
export const CreateWebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: WEBHOOK_LIMITS.url }),
    events: Type.Array(stringEnum(WEBHOOK_EVENT_TYPES), { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true }),
    /** Leave out to have the server generate one (shown once, in the answer). */
    secret: Type.Optional(
      Type.String({ minLength: WEBHOOK_LIMITS.secret.min, maxLength: WEBHOOK_LIMITS.secret.max, pattern: WEBHOOK_SECRET_PATTERN }),
    ),
    description: Type.Optional(Type.String({ maxLength: WEBHOOK_LIMITS.description, pattern: '^[^\\u0000-\\u001f\\u007f]*$' })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateWebhookBody = Static<typeof CreateWebhookBody>;

/** `PATCH /api/manage/webhooks/{id}`: what is given changes. */
export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1, maxLength: WEBHOOK_LIMITS.url })),
    events: Type.Optional(
      Type.Array(stringEnum(WEBHOOK_EVENT_TYPES), { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true }),
    ),
    description: Type.Optional(Type.String({ maxLength: WEBHOOK_LIMITS.description, pattern: '^[^\\u0000-\\u001f\\u007f]*$' })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateWebhookBody = Static<typeof UpdateWebhookBody>;

export const WebhookParams = Type.Object(
  { id: Type.String({ pattern: WEBHOOK_ID_PATTERNS.endpoint }) },
  { additionalProperties: false },
);
export type WebhookParams = Static<typeof WebhookParams>;

export const WebhookDeliveryParams = Type.Object(
  {
    id: Type.String({ pattern: WEBHOOK_ID_PATTERNS.endpoint }),
    deliveryId: Type.String({ pattern: WEBHOOK_ID_PATTERNS.delivery }),
  },
  { additionalProperties: false },
);
export type WebhookDeliveryParams = Static<typeof WebhookDeliveryParams>;

// ---- what receivers get ---------------------------------------------------------------------------------------

/** The body of every delivery. `id` is the event's: the same on every try and every endpoint. */
export interface WebhookPayload<T extends WebhookEventType = WebhookEventType> {
  id: string;
  type: T;
  /** When the event happened (ISO 8601). */
  createdAt: string;
  data: WebhookEventData[T];
}

export interface WebhookAttemptRef {
  attemptId: string;
  inviteId: string | null;
  exerciseId: string;
}

export interface WebhookEventData {
  'invite.started': WebhookAttemptRef & { startedAt: string | null; deadline: string | null; timeLimitSeconds: number };
  'attempt.submitted': WebhookAttemptRef & { endedAt: string | null; reason: string };
  /** `reason`: `expired` (the clock), or `revoked` (the invite was withdrawn while it ran). */
  'attempt.expired': WebhookAttemptRef & { endedAt: string | null; reason: string };
  'attempt.graded': WebhookAttemptRef & {
    exerciseVersion: string | null;
    score: number;
    maxScore: number;
    /** Set when the grading itself broke (no verdicts then). */
    error: string | null;
    checks: { id: string; title: string; points: number; verdict: string; advisory: boolean }[];
    gradedAt: string;
    /** A staff member's regrade (from the stored snapshot, after a check was fixed), not the end of the attempt. */
    regrade: boolean;
  };
  'review.completed': WebhookAttemptRef & {
    reviewerId: string;
    recommendation: string | null;
    weightedScore: number | null;
    /** Each rated dimension's rating (1 to 4, or null); the notes and summary are not sent. */
    ratings: Record<string, number | null>;
    updatedAt: string;
  };
}
