var controller = new AbortController();
var signal = controller.signal;

// ...

signal.aborted ? console.log(`Request aborted with reason: ${signal.reason}`) : console.log('Request not aborted');
