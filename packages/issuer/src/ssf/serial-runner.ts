/**
 * Runs a job again and again while it reports more work, never twice at once. A trigger that arrives
 * during a run schedules one more run, so no wake-up is lost and bursts of wake-ups coalesce.
 */
export class SerialRunner {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    /** Returns true when it should run again right away (a full batch was processed). */
    private readonly job: () => Promise<boolean>,
    private readonly onError: (error: unknown) => void,
  ) {}

  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        while (!this.stopped && (await this.job())) {
          // more work right away
        }
      } catch (error) {
        this.onError(error);
      }
    } while (this.again && !this.stopped);
  }

  /** Stops triggering and waits for the current run to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Resolves when the runner is idle (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
