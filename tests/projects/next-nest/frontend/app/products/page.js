export default function Products() {
  return (
    <main>
      <h1>Products page</h1>
    </main>
  );
}
