#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx portico ...` works from a checkout.
import { register } from 'tsx/esm/api';
register();
await import('../cli/portico.ts');
