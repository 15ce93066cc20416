const encoder = new TextEncoder();
const array = encoder.encode('€'); // Uint8Array(3) [226, 130, 172]
console.log(String(array));

const decoder = new TextDecoder();
const str = decoder.decode(array); // String "€"
console.log(str);
