// vitest setup file: after each test file, kill whatever it started and did not stop.
import { afterAll } from 'vitest';
import { killTrackedChildren } from './cleanup.js';

afterAll(() => killTrackedChildren());
