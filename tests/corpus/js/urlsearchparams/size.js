const searchParams = new URLSearchParams("c=4&a=2&b=3&a=1");
console.log(searchParams.size); // 4
