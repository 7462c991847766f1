/**
 * Propagation chart: for each recent critical event, one bar per stream from the change to the SET's
 * delivery, in milliseconds. Plain SVG with a text alternative (the table beside it has the numbers).
 */
import type { SecurityEvent } from './types.ts';
import { eventName } from './types.ts';

const ROW = 22;
const LABEL = 190;
const WIDTH = 640;

export function PropagationChart({ events }: { events: SecurityEvent[] }) {
  const rows = events.slice(0, 8).flatMap((event) =>
    event.deliveries.map((delivery) => ({
      key: `${event.id}-${delivery.stream_id}`,
      label: `${eventName(event.event_type)} → ${delivery.stream}`,
      ms: delivery.propagation_ms,
      state: delivery.state,
    })),
  );
  if (rows.length === 0)
    return <p className="muted">No deliveries yet: create a stream (a receiver) to see propagation times.</p>;
  const max = Math.max(1, ...rows.map((row) => row.ms ?? 0));
  const scale = (WIDTH - LABEL - 70) / max;
  const height = rows.length * ROW + 24;
  const summary = rows
    .map((row) => `${row.label}: ${row.ms === null ? row.state.replace('_', ' ') : `${row.ms} ms`}`)
    .join('; ');
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${WIDTH} ${height}`}
      role="img"
      aria-label={`Propagation time per stream. ${summary}`}
    >
      <title>Propagation time from the change to each stream</title>
      {rows.map((row, index) => {
        const y = index * ROW + 4;
        const width = row.ms === null ? 0 : Math.max(2, row.ms * scale);
        return (
          <g key={row.key}>
            <text x={LABEL - 6} y={y + 14} textAnchor="end" className="chart-label">
              {row.label.length > 30 ? `${row.label.slice(0, 29)}…` : row.label}
            </text>
            <rect x={LABEL} y={y + 3} width={width} height={ROW - 8} rx={3} className={`bar ${row.state}`} />
            <text x={LABEL + width + 6} y={y + 14} className="chart-value">
              {row.ms === null ? row.state.replace('_', ' ') : `${row.ms} ms`}
            </text>
          </g>
        );
      })}
      <line x1={LABEL} x2={LABEL} y1={0} y2={height - 20} className="axis" />
      <text x={LABEL} y={height - 4} className="chart-value">
        0
      </text>
      <text x={WIDTH - 70} y={height - 4} textAnchor="end" className="chart-value">
        {max} ms
      </text>
    </svg>
  );
}
