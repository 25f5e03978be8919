import { useEffect, useState } from 'react'

export default function App() {
  const [recipes, setRecipes] = useState([])
  useEffect(() => {
    fetch('/api/recipes').then((r) => r.json()).then(setRecipes)
  }, [])
  return (
    <main>
      <h1>Recipes</h1>
      <ul>{recipes.map((r) => <li key={r.id}>{r.name}</li>)}</ul>
    </main>
  )
}
