import { OpenCaeError } from '@opencae/protocol';

/** The location policy document could not be fetched or is not acceptable; the last good one stays. */
export class LocationPolicySyncError extends OpenCaeError {
  declare readonly code: 'ERR_LOCATION_POLICY_SYNC';
  /** HTTP status of the failed response; 0 when none arrived or the body was refused. */
  readonly status: number;

  constructor(message: string, status: number, options?: ErrorOptions) {
    super('ERR_LOCATION_POLICY_SYNC', message, options);
    this.status = status;
  }
}
