/**
 * An admin API route as data: method, path, zod schemas and a framework-free handler. The same
 * definition registers the Fastify route and describes the operation in the OpenAPI document.
 */
import type { z } from 'zod';
import type { IssuerConfig } from '../config.js';
import type { DirectoryContext } from '../directory/directory-context.js';
import type { SigningKeyStore } from '../keys/signing-keys.js';
import type { Db } from '../storage/database.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HandlerInput<Q, B> {
  /** Path parameters (`:user` → params.user), raw strings: services resolve them. */
  params: Record<string, string>;
  query: Q;
  body: B;
  /** Directory context of this request: the request's actor, the issuer URL. */
  directory: DirectoryContext;
  db: Db;
  /** The issuer's signing keys and configuration (key rotation needs the token lifetimes). */
  keys: SigningKeyStore;
  config: IssuerConfig;
}

export interface AdminRoute<Q = unknown, B = unknown> {
  method: HttpMethod;
  /** Fastify syntax, relative to /admin/v1: `/users/:user/disable`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Success status: 200 by default, 204 when there is no response schema. */
  status?: number;
  response?: z.ZodType;
  handler(input: HandlerInput<Q, B>): Promise<unknown>;
}

/**
 * An operation under /admin/v1 that a module serves with its own Fastify routes (Conditional Access,
 * logs, streams): described in the admin API's OpenAPI document like the routes above.
 */
export type AdminOperation = Omit<AdminRoute, 'handler'>;

/** Keeps the schema/handler types tied together while collecting routes of different shapes. */
export function route<Q = undefined, B = undefined>(definition: AdminRoute<Q, B>): AdminRoute {
  return definition as unknown as AdminRoute;
}

export function successStatus(definition: AdminOperation): number {
  return definition.status ?? (definition.response ? 200 : 204);
}
