// The ConfigError a call throws (the configuration tests assert its file, key and message).
import { ConfigError } from '../../src/config/errors.js';

export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
