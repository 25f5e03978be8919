async function load() {
  const response = await fetch('/api/books')
  const books = await response.json()
  document.querySelector('#books').innerHTML = books.map((b) => `<li>${b.title}</li>`).join('')
}

load()
