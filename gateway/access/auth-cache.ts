// Answers of auth services kept for auth-cache-duration, per worker process (nginx keeps them in a cache zone
// shared by its workers on the node). Bounded: the oldest entries go first when it is full.
import { ExpiringCache } from '../shared/expiring-cache.ts';
import type { AuthAnswer } from './external-auth.ts';

export class AuthCache extends ExpiringCache<AuthAnswer> {}
