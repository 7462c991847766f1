/** CLI failures: a message for stderr and the exit code (1 = the operation failed, 2 = bad usage). */
import { OpenCaeError } from '@opencae/protocol';

export class CliError extends OpenCaeError {
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; code?: string; cause?: unknown } = {}) {
    super(options.code ?? 'ERR_CLI', message, { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, { exitCode: 2, code: 'ERR_CLI_USAGE' });
  }
}

/** The admin API answered with an error. */
export class AdminApiError extends CliError {
  readonly status: number;

  constructor(status: number, description: string) {
    super(`${description} (HTTP ${status})`, { code: 'ERR_ADMIN_API' });
    this.status = status;
  }
}
