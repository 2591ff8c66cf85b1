// Runs of one task that never overlap: a request made while a run is under way asks for exactly one more run
// after it (requests in the meantime coalesce), so the last state always gets a run of its own and a burst of
// changes costs at most two runs. The table follower, the publish loop, the agent's compile pass and local
// mode's manifest reload all work this way.
export class SingleFlight {
  private running: Promise<void> | null = null;
  private again = false;

  /** `task` handles its own errors: one that throws ends the run (its promise rejects), and the run asked for
   * in the meantime is still made. */
  constructor(private readonly task: () => Promise<void>) {}

  /** Starts a run, or asks for one more after the current one; settles when the run it started or joined ends. */
  request(): Promise<void> {
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      try {
        do {
          this.again = false;
          await this.task();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    this.running = run;
    run.catch(() => {
      if (this.again) void this.request().catch(() => undefined);
    });
    return run;
  }

  /** Resolves once no run is under way (whatever the runs' outcome). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running.catch(() => undefined);
  }

  get busy(): boolean {
    return this.running !== null;
  }
}
