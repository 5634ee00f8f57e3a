// The hash slot of a key (CRC16 of its hash tag, mod 16384): the package ioredis itself uses, which ships no types.
declare module 'cluster-key-slot' {
  export default function calculateSlot(key: string): number;
}
