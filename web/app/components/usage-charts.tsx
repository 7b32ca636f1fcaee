import {
  Area,
  AreaChart,
  Bar,
  BarChart,
  CartesianGrid,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import type { UsagePoint } from "../lib/usage-series.ts";

// The metrics tab's charts (recharts): only that route imports this module, so only its chunk loads the library.

const AXIS = { stroke: "#8b8b8b", fontSize: 11 };
const GRID = "#262626";
const TOOLTIP = { contentStyle: { background: "#111", border: "1px solid #3d3d3d", fontSize: 12 } };
/** Monochrome greys with the one accent for the headline series. */
const SHADES = ["#f85149", "#d29922", "#a1a1a1", "#ededed", "#8b8b8b"];

function Chart({ title, children }: { title: string; children: React.ReactElement }) {
  return (
    <figure className="card chart-card">
      <figcaption className="card-title">{title}</figcaption>
      <div className="chart">
        <ResponsiveContainer width="100%" height="100%">
          {children}
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

export function UsageCharts({ points, errorKinds }: { points: UsagePoint[]; errorKinds: string[] }) {
  return (
    <div className="charts">
      <Chart title="Calls">
        <AreaChart data={points}>
          <CartesianGrid stroke={GRID} vertical={false} />
          <XAxis dataKey="label" {...AXIS} minTickGap={24} />
          <YAxis allowDecimals={false} {...AXIS} width={36} />
          <Tooltip {...TOOLTIP} />
          <Area
            type="monotone"
            dataKey="calls"
            stroke="#6366f1"
            fill="#6366f1"
            fillOpacity={0.2}
            isAnimationActive={false}
          />
        </AreaChart>
      </Chart>
      <Chart title="Latency (ms)">
        <LineChart data={points}>
          <CartesianGrid stroke={GRID} vertical={false} />
          <XAxis dataKey="label" {...AXIS} minTickGap={24} />
          <YAxis {...AXIS} width={44} />
          <Tooltip {...TOOLTIP} />
          <Line type="monotone" dataKey="p50" stroke="#ededed" dot={false} connectNulls isAnimationActive={false} />
          <Line type="monotone" dataKey="p95" stroke="#a1a1a1" dot={false} connectNulls isAnimationActive={false} />
          <Line type="monotone" dataKey="p99" stroke="#6366f1" dot={false} connectNulls isAnimationActive={false} />
        </LineChart>
      </Chart>
      <Chart title="Errors by kind">
        <BarChart data={points}>
          <CartesianGrid stroke={GRID} vertical={false} />
          <XAxis dataKey="label" {...AXIS} minTickGap={24} />
          <YAxis allowDecimals={false} {...AXIS} width={36} />
          <Tooltip {...TOOLTIP} />
          {errorKinds.map((kind, i) => (
            <Bar
              key={kind}
              dataKey={kind}
              stackId="errors"
              fill={SHADES[i % SHADES.length]}
              isAnimationActive={false}
            />
          ))}
        </BarChart>
      </Chart>
    </div>
  );
}
