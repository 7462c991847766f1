/**
 * OpenID Shared Signals Framework 1.0 wire types (transmitter metadata, stream management) and the
 * delivery bodies of RFC 8935 (push) and RFC 8936 (poll). Unknown members are kept.
 */
import { z } from 'zod';
import { subjectIdentifierSchema } from './subject.js';

/** Delivery method URNs (SSF 1.0 §6.1.1). */
export const DELIVERY = { push: 'urn:ietf:rfc:8935', poll: 'urn:ietf:rfc:8936' } as const;

const url = z.url();
const audience = z.union([z.string(), z.array(z.string()).min(1)]);

/** `/.well-known/ssf-configuration` (SSF 1.0 §7.1). */
export const transmitterMetadataSchema = z.looseObject({
  spec_version: z.string().optional(),
  issuer: url,
  jwks_uri: url.optional(),
  delivery_methods_supported: z.array(z.string()).optional(),
  configuration_endpoint: url.optional(),
  status_endpoint: url.optional(),
  add_subject_endpoint: url.optional(),
  remove_subject_endpoint: url.optional(),
  verification_endpoint: url.optional(),
  critical_subject_members: z.array(z.string()).optional(),
  authorization_schemes: z.array(z.looseObject({ spec_urn: z.string() })).optional(),
  default_subjects: z.enum(['ALL', 'NONE']).optional(),
});

/** Delivery configuration: push needs `endpoint_url`; for poll the transmitter supplies it. */
export const deliverySchema = z.looseObject({
  method: z.string().min(1),
  endpoint_url: url.optional(),
  authorization_header: z.string().optional(),
});

/** A stream as the transmitter describes it (SSF 1.0 §8.1.1). */
export const streamConfigurationSchema = z.looseObject({
  stream_id: z.string().min(1),
  iss: z.string().min(1),
  aud: audience,
  events_supported: z.array(z.string()).optional(),
  events_requested: z.array(z.string()).optional(),
  events_delivered: z.array(z.string()),
  delivery: deliverySchema,
  min_verification_interval: z.number().int().nonnegative().optional(),
  inactivity_timeout: z.number().int().nonnegative().optional(),
  description: z.string().optional(),
});

/** The receiver-supplied members of a create request (SSF 1.0 §8.1.1.1); all optional. */
export const streamConfigurationCreateSchema = z.looseObject({
  events_requested: z.array(z.string()).optional(),
  delivery: deliverySchema.optional(),
  description: z.string().optional(),
});

/** Update (PATCH) and replace (PUT) bodies name the stream (SSF 1.0 §8.1.1.3–4). */
export const streamConfigurationUpdateSchema = streamConfigurationCreateSchema.extend({
  stream_id: z.string().min(1),
});

export const streamStatusSchema = z.looseObject({
  stream_id: z.string().min(1),
  status: z.enum(['enabled', 'paused', 'disabled']),
  reason: z.string().optional(),
});

export const addSubjectRequestSchema = z.looseObject({
  stream_id: z.string().min(1),
  subject: subjectIdentifierSchema,
  verified: z.boolean().optional(),
});

export const removeSubjectRequestSchema = z.looseObject({
  stream_id: z.string().min(1),
  subject: subjectIdentifierSchema,
});

export const verificationRequestSchema = z.looseObject({
  stream_id: z.string().min(1),
  state: z.string().optional(),
});

/** RFC 8935 §2.3 / RFC 8936 §2.4 error entry. */
export const pushErrorSchema = z.looseObject({ err: z.string().min(1), description: z.string() });

/** RFC 8936 §2.4 poll request. */
export const pollRequestSchema = z.looseObject({
  maxEvents: z.number().int().nonnegative().optional(),
  returnImmediately: z.boolean().optional(),
  ack: z.array(z.string()).optional(),
  setErrs: z.record(z.string(), pushErrorSchema).optional(),
});

/** RFC 8936 §2.5 poll response: `sets` maps `jti` to the SET itself. */
export const pollResponseSchema = z.looseObject({
  sets: z.record(z.string(), z.string()),
  moreAvailable: z.boolean().optional(),
});

export type TransmitterMetadata = z.infer<typeof transmitterMetadataSchema>;
export type Delivery = z.infer<typeof deliverySchema>;
export type StreamConfiguration = z.infer<typeof streamConfigurationSchema>;
export type StreamConfigurationCreate = z.infer<typeof streamConfigurationCreateSchema>;
export type StreamConfigurationUpdate = z.infer<typeof streamConfigurationUpdateSchema>;
export type StreamStatus = z.infer<typeof streamStatusSchema>;
export type AddSubjectRequest = z.infer<typeof addSubjectRequestSchema>;
export type RemoveSubjectRequest = z.infer<typeof removeSubjectRequestSchema>;
export type VerificationRequest = z.infer<typeof verificationRequestSchema>;
export type PollRequest = z.infer<typeof pollRequestSchema>;
export type PollResponse = z.infer<typeof pollResponseSchema>;
export type PushError = z.infer<typeof pushErrorSchema>;
