function base64ToBytes(base64) {
  const binString = atob(base64);
  return Uint8Array.from(binString, (m) => m.codePointAt(0));
}

function bytesToBase64(bytes) {
  const binString = String.fromCodePoint(...bytes);
  return btoa(binString);
}

// Usage
console.log(bytesToBase64(new TextEncoder().encode("a Ā 𐀀 文 🦄"))); // "YSDEgCDwkICAIOaWhyDwn6aE"
console.log(new TextDecoder().decode(base64ToBytes("YSDEgCDwkICAIOaWhyDwn6aE"))); // "a Ā 𐀀 文 🦄"
