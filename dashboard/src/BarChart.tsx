// A bar chart in plain SVG: a few dozen bars need no charting library. The figures are also in a
// visually hidden table, so screen readers get the numbers rather than a picture.
export function BarChart({ title, points }: { title: string; points: Array<{ label: string; value: number }> }) {
  const width = 360;
  const height = 120;
  const max = Math.max(1, ...points.map((p) => p.value));
  const bar = points.length ? width / points.length : width;
  const total = points.reduce((sum, p) => sum + p.value, 0);
  return (
    <figure className="chart">
      <figcaption>
        {title} <span className="total">({total} in all)</span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}: ${total} in all`}>
        {points.map((p, i) => {
          const h = (p.value / max) * (height - 4);
          return (
            <rect key={p.label} x={i * bar + 1} y={height - h} width={Math.max(1, bar - 2)} height={h}>
              <title>{`${p.label}: ${p.value}`}</title>
            </rect>
          );
        })}
      </svg>
      <table className="visually-hidden">
        <caption>{title}</caption>
        <tbody>
          {points.map((p) => (
            <tr key={p.label}>
              <th scope="row">{p.label}</th>
              <td>{p.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
