// pino-roll ships no types; this is the part of its API we use.
declare module 'pino-roll' {
  interface PinoRollOptions {
    file: string | (() => string);
    size?: string | number;
    frequency?: 'daily' | 'hourly' | number;
    extension?: string;
    symlink?: boolean;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
    mkdir?: boolean;
  }
  export default function build(options: PinoRollOptions): Promise<unknown>;
}
