import { OpenCaeError } from '@opencae/protocol';

/** Options given to a guard, adapter, store or receiver are invalid; thrown once, at creation. */
export class ResourceConfigError extends OpenCaeError {
  declare readonly code: 'ERR_RESOURCE_CONFIG';

  constructor(message: string, options?: ErrorOptions) {
    super('ERR_RESOURCE_CONFIG', message, options);
  }
}

/** Issuer or transmitter metadata could not be fetched or is not acceptable (RFC 8414 §3.3, SSF §7.1). */
export class MetadataError extends OpenCaeError {
  declare readonly code: 'ERR_METADATA';

  constructor(message: string, options?: ErrorOptions) {
    super('ERR_METADATA', message, options);
  }
}

/** A call to the transmitter (token endpoint, stream management, poll) failed. */
export class TransmitterRequestError extends OpenCaeError {
  declare readonly code: 'ERR_TRANSMITTER_REQUEST';
  /** HTTP status of the failed response; 0 when no response arrived. */
  readonly status: number;

  constructor(message: string, status: number, options?: ErrorOptions) {
    super('ERR_TRANSMITTER_REQUEST', message, options);
    this.status = status;
  }
}

/** The shared revocation store (Redis) could not record a change. */
export class RevocationStoreError extends OpenCaeError {
  declare readonly code: 'ERR_REVOCATION_STORE';

  constructor(message: string, options?: ErrorOptions) {
    super('ERR_REVOCATION_STORE', message, options);
  }
}
