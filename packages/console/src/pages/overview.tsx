import { api } from '../api.ts';
import { PropagationChart } from '../chart.tsx';
import { href } from '../router.ts';
import type { Overview, StreamHealth } from '../types.ts';
import { eventName } from '../types.ts';
import { Badge, ErrorMessage, formatTime, PageTitle, TableRegion, useLoad } from '../ui.tsx';

const HEALTH_TONE: Record<StreamHealth['health'], 'good' | 'bad' | 'warn' | 'neutral'> = {
  healthy: 'good',
  idle: 'neutral',
  lagging: 'warn',
  paused: 'warn',
  failing: 'bad',
  disabled: 'bad',
};

export function OverviewPage() {
  const { data, error, reload } = useLoad(() => api<Overview>('GET', '/overview'), []);
  return (
    <>
      <PageTitle
        actions={
          <button type="button" className="secondary" onClick={reload}>
            Refresh
          </button>
        }
      >
        Overview
      </PageTitle>
      <ErrorMessage error={error} />
      {data ? (
        <>
          <section className="stats" aria-label="Sign-ins in the last 24 hours">
            <div className="stat">
              <span className="stat-value">{data.sign_ins.last_24h.success}</span> successful sign-ins (24 h)
            </div>
            <div className="stat">
              <span className="stat-value">{data.sign_ins.last_24h.failure}</span> refused sign-ins (24 h)
            </div>
            <div className="stat">
              <span className="stat-value">{data.sign_ins.last_24h.cae}</span> CAE tokens issued (24 h)
            </div>
          </section>
          <section className="card" aria-labelledby="propagation">
            <h2 id="propagation">Propagation of recent critical events</h2>
            <PropagationChart events={data.recent_events} />
          </section>
          <section className="card" aria-labelledby="recent">
            <h2 id="recent">Recent critical events</h2>
            {data.recent_events.length === 0 ? (
              <p className="muted">No critical event yet.</p>
            ) : (
              <TableRegion label="Recent critical events">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Event</th>
                    <th scope="col">Subject</th>
                    <th scope="col">Deliveries</th>
                  </tr>
                </thead>
                <tbody>
                  {data.recent_events.map((event) => (
                    <tr key={event.id}>
                      <td>{formatTime(event.occurred_at)}</td>
                      <td>{eventName(event.event_type)}</td>
                      <td>
                        {event.principal_name ?? event.principal_id}{' '}
                        <span className="muted">({event.principal_type.replace('_', ' ')})</span>
                      </td>
                      <td>
                        {event.deliveries.length === 0 ? (
                          <span className="muted">no stream</span>
                        ) : (
                          <ul className="plain">
                            {event.deliveries.map((delivery) => (
                              <li key={delivery.stream_id}>
                                {delivery.stream}:{' '}
                                <Badge tone={deliveryTone(delivery.state)}>
                                  {delivery.state.replace('_', ' ')}
                                </Badge>
                                {delivery.propagation_ms !== null ? ` in ${delivery.propagation_ms} ms` : ''}
                              </li>
                            ))}
                          </ul>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </TableRegion>
            )}
          </section>
          <section className="card" aria-labelledby="health">
            <h2 id="health">Stream health</h2>
            {data.streams.length === 0 ? (
              <p className="muted">No stream: no resource receives events yet.</p>
            ) : (
              <TableRegion label="Stream health">
                <thead>
                  <tr>
                    <th scope="col">Stream</th>
                    <th scope="col">Health</th>
                    <th scope="col">Lag</th>
                    <th scope="col">Median propagation</th>
                    <th scope="col">Last delivery</th>
                  </tr>
                </thead>
                <tbody>
                  {data.streams.map((stream) => (
                    <tr key={stream.id}>
                      <td>
                        <a href={href('streams')}>{stream.name}</a>
                      </td>
                      <td>
                        <Badge tone={HEALTH_TONE[stream.health]}>{stream.health}</Badge>
                      </td>
                      <td>{stream.lag_seconds} s</td>
                      <td>
                        {stream.median_propagation_ms === null ? '—' : `${stream.median_propagation_ms} ms`}
                      </td>
                      <td>{formatTime(stream.last_delivered_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </TableRegion>
            )}
          </section>
        </>
      ) : null}
    </>
  );
}

export function deliveryTone(state: string): 'good' | 'bad' | 'warn' | 'neutral' {
  if (state === 'delivered' || state === 'acknowledged') return 'good';
  if (state === 'dead_letter' || state === 'failed') return 'bad';
  return 'warn';
}
