// Shared with authenticate (its rate limits key on the client address): the implementation lives in server-kit.
export { clientAddress, createTrustCheck, type TrustCheck } from '@vallum/server-kit';
