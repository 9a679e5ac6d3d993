import type { Context } from 'koa';
import type { FlowScratch, Host } from '../flow/host.js';
import type { View } from '../flow/host.js';
import type { AppDeps } from '../members/changes/deps.js';
import { flowDeps } from '../members/ports.js';
import { render } from './render.js';
import { proofAttempts } from '../flow/attempt.js';

/**
 * The Host a step or factor runs in, made from this request: its language, client IP and query, and
 * the application's ports (members/ports.ts), never the database.
 */
export function hostFromRequest(
  ctx: Context,
  deps: AppDeps,
  place: { flow: Host['flow']; member: Host['member']; actionUrl: string; scratch: FlowScratch; sessionAcr?: string; sessionId?: string },
): Host {
  const ports = flowDeps(deps);
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries(ctx.query)) if (typeof value === 'string') query[key] = value;
  return {
    ...place,
    locale: ctx.state.locale,
    t: ctx.state.t,
    ip: ctx.ip,
    unionName: String(ctx.state.unionName ?? ''),
    query,
    attempt: proofAttempts(ports, ctx.ip),
    deps: ports,
  };
}

/** Shows what a step or a factor returned. */
export function renderView(ctx: Context, view: View): void {
  render(ctx, view.view, view.vars, view.status ?? 200);
}
