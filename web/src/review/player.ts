// The replay of an attempt's recording (asciicast v2) with asciinema-player: markers for the lifecycle events
// opslab writes (started, checks, hint, submitted…), a speed control, idle-time compression, and seek() on the
// recording's own clock. The player's clock runs on compressed time once idle periods are cut short, so this
// module maps between the two: callers always speak recording seconds, the same clock as the command timeline.

import * as AsciinemaPlayer from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { h, type Scope } from '../dom.js';
import { formatOffset, IdleClock, parseCast, type CastInfo, type CastMarker } from './cast.js';

export const SPEEDS = [0.5, 1, 2, 4, 8] as const;
/** Idle periods longer than this many seconds are cut to it; null keeps the real pauses. */
export const IDLE_LIMITS = [null, 1, 2, 5] as const;
export const DEFAULT_IDLE_LIMIT = 2;

export type ReplaySource = { url: string } | { text: string };

export interface ReplayOptions {
  scope: Scope;
  speed?: number;
  idleTimeLimit?: number | null;
  /** Called about four times a second with the recording time while the replay is shown. */
  onTime?: (recordingSeconds: number) => void;
}

/**
 * A replay with its controls: the player, speed and idle selects, the recording time and the markers as buttons.
 * Build it with Replay.load(); `element` is ready to be placed at once and fills in when the recording arrives.
 */
export class Replay {
  readonly element: HTMLElement;

  private info: CastInfo | null = null;
  private text = '';
  private clock: IdleClock = new IdleClock([], DEFAULT_IDLE_LIMIT);
  private player: AsciinemaPlayer.Player | null = null;
  private speed: number;
  private idleLimit: number | null;
  private disposed = false;
  private readonly scope: Scope;
  private readonly onTime: ((t: number) => void) | undefined;
  /** Settles once the recording was fetched and shown (or found missing). */
  private loading: Promise<void> = Promise.resolve();

  private readonly host = h('div', { class: 'replay-host', 'data-testid': 'replay-player' });
  private readonly status = h('p', { class: 'replay-status muted', role: 'status', 'data-testid': 'replay-status' });
  private readonly time = h('span', { class: 'replay-time', 'data-testid': 'replay-time', 'data-seconds': '0' }, '00:00');
  private readonly total = h('span', { class: 'replay-total muted' });
  private readonly speedSelect = h('select', { class: 'replay-select', 'data-testid': 'replay-speed', 'aria-label': 'Replay speed' });
  private readonly idleSelect = h('select', { class: 'replay-select', 'data-testid': 'replay-idle', 'aria-label': 'Shorten pauses longer than' });
  private readonly markerList = h('ol', { class: 'replay-markers', 'aria-label': 'Markers', 'data-testid': 'replay-markers' });

  private constructor(options: ReplayOptions) {
    this.scope = options.scope;
    this.onTime = options.onTime;
    this.speed = options.speed ?? 1;
    this.idleLimit = options.idleTimeLimit === undefined ? DEFAULT_IDLE_LIMIT : options.idleTimeLimit;

    for (const speed of SPEEDS) {
      this.speedSelect.append(h('option', { value: String(speed), selected: speed === this.speed }, `${speed}×`));
    }
    for (const limit of IDLE_LIMITS) {
      this.idleSelect.append(
        h('option', { value: limit === null ? '' : String(limit), selected: limit === this.idleLimit }, limit === null ? 'Real time' : `Pauses cut to ${limit} s`),
      );
    }
    this.element = h(
      'div',
      { class: 'replay', 'data-testid': 'replay' },
      this.host,
      this.status,
      h(
        'div',
        { class: 'replay-toolbar' },
        h('span', { class: 'replay-clock', title: 'Time in the recording (the command timeline uses the same clock)' }, this.time, this.total),
        h('label', { class: 'replay-control' }, h('span', { class: 'muted' }, 'Speed'), this.speedSelect),
        h('label', { class: 'replay-control' }, h('span', { class: 'muted' }, 'Idle'), this.idleSelect),
      ),
      this.markerList,
    );
    this.scope.listen(this.speedSelect, 'change', () => {
      this.speed = Number(this.speedSelect.value) || 1;
      void this.rebuild();
    });
    this.scope.listen(this.idleSelect, 'change', () => {
      this.idleLimit = this.idleSelect.value === '' ? null : Number(this.idleSelect.value);
      void this.rebuild();
    });
    this.scope.interval(() => this.tick(), 250);
    this.scope.add(() => this.dispose());
  }

  /** Shows the replay of a recording fetched from `url` (with the page's credentials) or given as text. */
  static load(source: ReplaySource, options: ReplayOptions): Replay {
    const replay = new Replay(options);
    replay.status.textContent = 'Loading the recording…';
    replay.loading = replay.fetchAndShow(source).catch(() => undefined);
    return replay;
  }

  get markers(): CastMarker[] {
    return this.info?.markers ?? [];
  }

  get ready(): boolean {
    return this.player !== null;
  }

  /** Resolves once the recording was loaded (`ready` then says whether it can be played). */
  loaded(): Promise<void> {
    return this.loading;
  }

  /** The recording time shown now, in seconds. */
  currentTime(): number {
    if (!this.player) return 0;
    return this.clock.toRecording(this.player.getCurrentTime());
  }

  /** Moves the replay to a moment of the recording (seconds from its start). */
  async seek(recordingSeconds: number): Promise<void> {
    if (!this.player) return;
    await this.player.seek(Math.max(0, this.clock.toPlayer(recordingSeconds)));
    this.tick();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.player?.dispose();
    this.player = null;
  }

  private async fetchAndShow(source: ReplaySource): Promise<void> {
    let text: string;
    if ('text' in source) {
      text = source.text;
    } else {
      try {
        const response = await fetch(source.url, { credentials: 'same-origin', signal: this.scope.signal });
        if (response.status === 404) {
          this.showStatus('There is no recording for this attempt.');
          return;
        }
        if (!response.ok) {
          this.showStatus(`The recording could not be loaded (the server answered ${response.status}).`);
          return;
        }
        text = await response.text();
      } catch (err) {
        if (this.scope.disposed) return;
        console.error('recording fetch failed', err);
        this.showStatus('The recording could not be loaded. Reload the page to try again.');
        return;
      }
    }
    if (this.disposed) return;
    this.text = text;
    this.info = parseCast(text);
    if (this.info.times.length === 0) {
      this.showStatus('The recording is empty: nothing was shown in the terminal.');
      return;
    }
    this.status.textContent = '';
    this.status.hidden = true;
    this.total.textContent = ` / ${formatOffset(this.info.duration)}`;
    this.renderMarkers();
    await this.rebuild();
  }

  private showStatus(message: string): void {
    this.status.hidden = false;
    this.status.textContent = message;
    this.host.hidden = true;
    this.element.dataset['state'] = 'unavailable';
  }

  /** Speed and idle limit are fixed when a player is made: changing them makes a new one at the same moment. */
  private async rebuild(): Promise<void> {
    if (!this.info || this.disposed) return;
    const at = this.player ? this.currentTime() : 0;
    const wasPlaying = this.element.dataset['playing'] === 'true';
    this.player?.dispose();
    this.host.replaceChildren();
    this.clock = new IdleClock(this.info.times, this.idleLimit);
    const player = AsciinemaPlayer.create({ data: this.text }, this.host, {
      cols: this.info.cols,
      rows: this.info.rows,
      speed: this.speed,
      idleTimeLimit: this.idleLimit ?? undefined,
      preload: true,
      fit: 'width',
      terminalFontSize: 'small',
      theme: 'asciinema',
    });
    this.player = player;
    this.element.dataset['playing'] = 'false';
    player.addEventListener('play', () => (this.element.dataset['playing'] = 'true'));
    player.addEventListener('playing', () => (this.element.dataset['playing'] = 'true'));
    player.addEventListener('pause', () => (this.element.dataset['playing'] = 'false'));
    player.addEventListener('ended', () => (this.element.dataset['playing'] = 'false'));
    this.element.dataset['state'] = 'ready';
    if (at > 0) await player.seek(this.clock.toPlayer(at));
    if (wasPlaying) await player.play();
    this.tick();
  }

  private renderMarkers(): void {
    this.markerList.replaceChildren();
    for (const marker of this.markers) {
      const button = h(
        'button',
        { type: 'button', class: 'replay-marker', 'data-testid': 'replay-marker', 'data-seconds': String(marker.time) },
        h('span', { class: 'replay-marker-time' }, formatOffset(marker.time)),
        ' ',
        marker.label,
      );
      button.setAttribute('aria-label', `Go to ${formatOffset(marker.time)}: ${marker.label}`);
      this.scope.listen(button, 'click', () => void this.seek(marker.time));
      this.markerList.append(h('li', {}, button));
    }
    this.markerList.hidden = this.markers.length === 0;
  }

  private tick(): void {
    if (!this.player) return;
    const t = this.currentTime();
    const text = formatOffset(t);
    if (this.time.textContent !== text) this.time.textContent = text;
    this.time.dataset['seconds'] = t.toFixed(3);
    this.onTime?.(t);
  }
}
