async function load() {
  const dishes = await (await fetch('/api/dishes')).json()
  document.querySelector('#dishes').innerHTML = dishes.map((d) => `<li>${d.dish} (${d.who})</li>`).join('')
}

load()
