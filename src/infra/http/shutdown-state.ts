import { Injectable } from '@nestjs/common';

/** Set once SIGTERM arrives: readiness answers 503 and responses ask clients to close their sockets. */
@Injectable()
export class ShutdownState {
  private drainingSince: number | undefined;

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  beginDraining(): void {
    this.drainingSince ??= Date.now();
  }
}
