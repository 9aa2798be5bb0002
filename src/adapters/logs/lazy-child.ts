import type { Bindings, ChildLoggerOptions, Logger } from 'pino';

const LEVEL_METHODS = new Set<PropertyKey>(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = () => {};

/**
 * `parent.child(bindings)`, made only when something is written through it.
 * A pino child serialises its bindings when made, and a record's logger is
 * made for every record: one whose lines are all below the level (the status
 * view rebuilding, which logs at debug) then costs nothing. Lines, levels and
 * bindings are those of the child it stands for; `child()` of it is lazy too.
 */
export function lazyChild(parent: Logger, bindings: Bindings): Logger {
  return lazyLogger(parent, () => parent.child(bindings));
}

function lazyLogger(levels: Logger, make: () => Logger): Logger {
  let made: Logger | undefined;
  const logger = (): Logger => {
    made ??= make();
    return made;
  };
  return new Proxy(levels, {
    get(_target, property) {
      if (made === undefined) {
        if (property === 'child') {
          return (more: Bindings, options?: ChildLoggerOptions) =>
            // Options may change the level: such a child is made at once.
            options === undefined ? lazyLogger(levels, () => logger().child(more)) : logger().child(more, options);
        }
        if (LEVEL_METHODS.has(property) && !levels.isLevelEnabled(property as string)) return noop;
      }
      const target = logger();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
