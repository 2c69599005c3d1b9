// vitest setup file: after each test file, kill whatever it started and did not stop, and remove its temp folders.
import { afterAll } from 'vitest';
import { killTrackedChildren, removeTrackedDirs } from './cleanup.js';

// Registered first, so it runs after the test file's own afterAll hooks (vitest runs them as a stack).
afterAll(() => {
  killTrackedChildren();
  removeTrackedDirs();
});
