'use client';

import { useEffect, useState } from 'react';

export default function Home() {
  const [products, setProducts] = useState([]);

  useEffect(() => {
    fetch('/api/products').then((r) => r.json()).then(setProducts);
  }, []);

  return (
    <main>
      <h1>Shopfront</h1>
      <a href="/products">All products</a>
      <p>{products.length} products</p>
    </main>
  );
}
