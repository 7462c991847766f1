import { useState } from 'react';
import { api } from '../api.ts';
import type { DeliveryState, Overview } from '../types.ts';
import { Badge, ConfirmAction, ErrorMessage, formatTime, PageTitle, TableRegion, useLoad } from '../ui.tsx';

interface Stream {
  id: string;
  owner_client_id: string;
  delivery_method: string;
  endpoint_url: string;
  status: 'enabled' | 'paused' | 'disabled';
  status_reason: string | null;
  description: string | null;
  deliveries: Partial<Record<DeliveryState, number>>;
}

interface Delivery {
  id: string;
  jti: string;
  event_type: string;
  state: DeliveryState;
  attempts: number;
  last_error: string | null;
  created_at: string;
}

export function StreamsPage() {
  const { data, error, reload } = useLoad(async () => {
    const [streams, overview] = await Promise.all([
      api<Stream[]>('GET', '/streams'),
      api<Overview>('GET', '/overview'),
    ]);
    return { streams, health: new Map(overview.streams.map((stream) => [stream.id, stream])) };
  }, []);
  const [open, setOpen] = useState<string>();
  return (
    <>
      <PageTitle
        actions={
          <button type="button" className="secondary" onClick={reload}>
            Refresh
          </button>
        }
      >
        Streams
      </PageTitle>
      <ErrorMessage error={error} />
      {data ? (
        <TableRegion label="Streams">
          <thead>
            <tr>
              <th scope="col">Receiver</th>
              <th scope="col">Status</th>
              <th scope="col">Lag</th>
              <th scope="col">Deliveries</th>
              <th scope="col">Dead letters</th>
            </tr>
          </thead>
          <tbody>
            {data.streams.map((stream) => {
              const health = data.health.get(stream.id);
              const dead = (stream.deliveries.dead_letter ?? 0) + (stream.deliveries.failed ?? 0);
              return (
                <tr key={stream.id}>
                  <td>
                    <strong>{health?.name ?? stream.description ?? stream.id}</strong>
                    <div className="muted">
                      {stream.delivery_method.endsWith('8936') ? 'poll' : 'push'} · receiver{' '}
                      {stream.owner_client_id}
                    </div>
                    <div className="mono muted">{stream.endpoint_url}</div>
                  </td>
                  <td>
                    <Badge tone={stream.status === 'enabled' ? 'good' : 'warn'}>{stream.status}</Badge>
                    {health ? <div className="muted">{health.health}</div> : null}
                    {stream.status_reason ? <div className="muted">{stream.status_reason}</div> : null}
                  </td>
                  <td>{health ? `${health.lag_seconds} s` : '—'}</td>
                  <td>
                    {Object.entries(stream.deliveries)
                      .map(([state, count]) => `${state.replace('_', ' ')}: ${count}`)
                      .join(' · ') || '—'}
                    {health?.last_delivered_at ? (
                      <div className="muted">last {formatTime(health.last_delivered_at)}</div>
                    ) : null}
                  </td>
                  <td>
                    <button
                      type="button"
                      className="secondary small"
                      aria-expanded={open === stream.id}
                      onClick={() => setOpen(open === stream.id ? undefined : stream.id)}
                    >
                      {dead} to review
                    </button>
                  </td>
                </tr>
              );
            })}
            {data.streams.length === 0 ? (
              <tr>
                <td colSpan={5} className="muted">
                  No stream yet: receivers create them through the Shared Signals API.
                </td>
              </tr>
            ) : null}
          </tbody>
        </TableRegion>
      ) : null}
      {open ? <DeadLetters key={open} streamId={open} onReplayed={reload} /> : null}
    </>
  );
}

function DeadLetters({ streamId, onReplayed }: { streamId: string; onReplayed: () => void }) {
  const { data, error, reload } = useLoad(
    () => api<Delivery[]>('GET', `/streams/${streamId}/deliveries?state=dead_letter,failed`),
    [streamId],
  );
  const replay = async (body: { ids?: string[]; states?: string[] }) => {
    const result = await api<{ replayed: number }>('POST', `/streams/${streamId}/deliveries/replay`, body);
    reload();
    onReplayed();
    return `${result.replayed} delivery(ies) queued again.`;
  };
  return (
    <section className="card" aria-labelledby="dead-letters">
      <div className="page-title">
        <h2 id="dead-letters">Failed and dead-lettered deliveries</h2>
        {data && data.length > 0 ? (
          <ConfirmAction
            label="Replay all"
            title="Replay every failed and dead-lettered delivery?"
            description={
              <p>
                The same SETs (same jti) are sent again; receivers that already have them discard the copies.
              </p>
            }
            onConfirm={() => replay({ states: ['dead_letter', 'failed'] })}
          />
        ) : null}
      </div>
      <ErrorMessage error={error} />
      {data?.length === 0 ? <p className="muted">Nothing to review.</p> : null}
      {data && data.length > 0 ? (
        <TableRegion label="Failed deliveries">
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Event</th>
              <th scope="col">State</th>
              <th scope="col">Last error</th>
              <th scope="col">Replay</th>
            </tr>
          </thead>
          <tbody>
            {data.map((delivery) => (
              <tr key={delivery.id}>
                <td>{formatTime(delivery.created_at)}</td>
                <td className="mono">{delivery.event_type}</td>
                <td>
                  <Badge tone="bad">{delivery.state.replace('_', ' ')}</Badge> after {delivery.attempts}{' '}
                  attempt(s)
                </td>
                <td>{delivery.last_error ?? '—'}</td>
                <td>
                  <ConfirmAction
                    small
                    label="Replay"
                    title="Replay this delivery?"
                    description={<p>The SET {delivery.jti} is queued again.</p>}
                    onConfirm={() => replay({ ids: [delivery.id], states: [delivery.state] })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </TableRegion>
      ) : null}
    </section>
  );
}
