// The Redis every test uses (REDIS_URL, else the local one), each test isolated by its own key prefix.
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
