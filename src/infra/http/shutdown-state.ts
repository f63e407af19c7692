import { Injectable } from '@nestjs/common';

/**
 * Set once SIGTERM arrives: readiness answers 503 and responses ask clients to close their sockets.
 * Just before the listener closes, finished answers are held back for a moment (graceful-close.ts
 * says why) and go out once it has closed.
 */
@Injectable()
export class ShutdownState {
  private drainingSince: number | undefined;
  private hold: { answersMayGo: Promise<void>; release: () => void } | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** While the listener is closing: resolves once answers may be written again; otherwise undefined. */
  get answersHeld(): Promise<void> | undefined {
    return this.hold?.answersMayGo;
  }

  beginDraining(): void {
    this.drainingSince ??= Date.now();
  }

  holdAnswers(): void {
    if (this.hold) return;
    let release!: () => void;
    const answersMayGo = new Promise<void>((resolve) => (release = resolve));
    this.hold = { answersMayGo, release };
  }

  releaseAnswers(): void {
    this.hold?.release();
    this.hold = undefined;
  }
}
