fetch('/api/quotes/random')
  .then(function (response) { return response.json(); })
  .then(function (quote) {
    document.getElementById('quote').textContent = quote.text + ' (' + quote.author + ')';
  });
