// A directory of manifests as the source of tables (`portico local`, `portico sync --manifests`): compile
// them, and again whenever the directory changes. A read or parse failure keeps the last good table and says
// why; diagnostics are logged when they change.
import { watch, type FSWatcher } from 'node:fs';
import type { Log } from '../gateway/shared/log.ts';
import { SingleFlight } from '../gateway/shared/single-flight.ts';
import { compile } from './compile/index.ts';
import type { CompileOptions, CompileResult } from './compile/types.ts';
import { readManifests } from './manifests.ts';

export class ManifestSource {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Loads never overlap; a change during one gets one more load right after it. */
  private readonly loads = new SingleFlight(async () => void (await this.load()));
  private lastDiagnostics = '';
  failures = 0;

  constructor(
    private readonly dir: string,
    private readonly apply: (r: CompileResult) => void,
    private readonly log: Log,
    /** What the compiler is told beside the manifests (the agent flags); left out: DEFAULT_COMPILE_OPTIONS. */
    private readonly options: Partial<CompileOptions> = {},
  ) {}

  /** Compiles once; resolves false when the manifests could not be read or the table was refused. */
  async load(): Promise<boolean> {
    try {
      const result = compile(await readManifests(this.dir), this.options);
      const diags = JSON.stringify(result.diagnostics);
      if (diags !== this.lastDiagnostics) {
        this.lastDiagnostics = diags;
        for (const d of result.diagnostics)
          this.log(d.severity === 'Warning' ? 'warn' : 'info', d.message, { code: d.code, object: d.object });
      }
      this.apply(result);
      this.log('info', 'table compiled', {
        version: result.table.version,
        hosts: result.table.hosts.length,
        backends: result.table.backends.length,
        diagnostics: result.diagnostics.length,
      });
      return true;
    } catch (err) {
      this.failures++;
      this.log('error', `manifests not applied, still serving the last good table: ${(err as Error).message}`, {
        code: (err as { code?: string }).code,
      });
      return false;
    }
  }

  /** Recompiles after changes settle for `debounceMs`; loads never overlap. */
  watch(debounceMs = 50): void {
    this.watcher = watch(this.dir, () => {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.kick(), debounceMs);
    });
    this.watcher.on('error', (err) => this.log('error', `watching ${this.dir} failed: ${err.message}`));
  }

  private kick(): Promise<void> {
    return this.loads.request();
  }

  close(): void {
    this.watcher?.close();
    if (this.timer !== null) clearTimeout(this.timer);
  }
}
