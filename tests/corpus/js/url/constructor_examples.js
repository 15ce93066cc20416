// Base urls
let m = 'https://developer.mozilla.org';
let a = new URL("/", m);                                // => 'https://developer.mozilla.org/'
let b = new URL(m);                                     // => 'https://developer.mozilla.org/'

        console.log(String(new URL('en-US/docs', b)));                      // => 'https://developer.mozilla.org/en-US/docs'
let d = new URL('/en-US/docs', b);                     // => 'https://developer.mozilla.org/en-US/docs'
        console.log(String(new URL('/en-US/docs', d)));                     // => 'https://developer.mozilla.org/en-US/docs'
        console.log(String(new URL('/en-US/docs', a)));                     // => 'https://developer.mozilla.org/en-US/docs'

        console.log(String(new URL('/en-US/docs', "https://developer.mozilla.org/fr-FR/toto")));
                                                       // => 'https://developer.mozilla.org/en-US/docs'

        console.log(String(new URL('http://www.example.com', )));           // => 'http://www.example.com/'
        console.log(String(new URL('http://www.example.com', b)));          // => 'http://www.example.com/'

        console.log(String(new URL("", "https://example.com/?query=1")))    // => 'https://example.com/?query=1' (Edge before 79 removes query arguments)
        console.log(String(new URL("/a", "https://example.com/?query=1")))  // => 'https://example.com/a' (see relative URLs)
        console.log(String(new URL("//foo.com", "https://example.com")))    // => 'https://foo.com' (see relative URLs)
