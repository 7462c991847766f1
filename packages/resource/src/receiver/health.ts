/** What an operator alerts on: when the receiver last heard from the transmitter, and what went wrong. */
export interface ReceiverHealth {
  delivery: 'push' | 'poll';
  running: boolean;
  streamId: string | undefined;
  /** As the transmitter reports it (status endpoint or stream-updated events). */
  streamStatus: 'enabled' | 'paused' | 'disabled' | undefined;
  streamStatusReason: string | undefined;
  /** Epoch milliseconds of the last SET accepted (any type). */
  lastEventAt: number | undefined;
  /** Epoch milliseconds of the last verification SET received. */
  lastVerificationAt: number | undefined;
  /** Epoch milliseconds of the last successful exchange with the transmitter (poll answer or push received). */
  lastContactAt: number | undefined;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  eventsAccepted: number;
  eventsRejected: number;
  duplicatesIgnored: number;
}

export function initialHealth(delivery: 'push' | 'poll'): ReceiverHealth {
  return {
    delivery,
    running: false,
    streamId: undefined,
    streamStatus: undefined,
    streamStatusReason: undefined,
    lastEventAt: undefined,
    lastVerificationAt: undefined,
    lastContactAt: undefined,
    lastError: undefined,
    lastErrorAt: undefined,
    eventsAccepted: 0,
    eventsRejected: 0,
    duplicatesIgnored: 0,
  };
}
