// Weather from Open-Meteo (https://open-meteo.com/en/docs): the forecast API for current
// conditions and daily forecasts, the geocoding API to turn a place's name into coordinates.
import { defineServer, tool, z } from "isola";
import config from "./config.ts";

const httpUrl = (name: string) =>
  z.url({ protocol: /^https?$/, error: `${name} must be an http(s) URL, like https://api.open-meteo.com` });
const Settings = z.object({ forecastUrl: httpUrl("forecastUrl"), geocodingUrl: httpUrl("geocodingUrl") });

function loadSettings(): z.output<typeof Settings> {
  const parsed = Settings.safeParse(config);
  if (!parsed.success) throw new Error(`config.ts: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const settings = loadSettings();
const FORECAST = settings.forecastUrl.replace(/\/+$/, "");
const GEOCODING = settings.geocodingUrl.replace(/\/+$/, "");

/** WMO weather interpretation codes, as Open-Meteo documents them. */
const CONDITIONS: Record<number, string> = {
  0: "clear sky",
  1: "mainly clear",
  2: "partly cloudy",
  3: "overcast",
  45: "fog",
  48: "depositing rime fog",
  51: "light drizzle",
  53: "moderate drizzle",
  55: "dense drizzle",
  56: "light freezing drizzle",
  57: "dense freezing drizzle",
  61: "slight rain",
  63: "moderate rain",
  65: "heavy rain",
  66: "light freezing rain",
  67: "heavy freezing rain",
  71: "slight snowfall",
  73: "moderate snowfall",
  75: "heavy snowfall",
  77: "snow grains",
  80: "slight rain showers",
  81: "moderate rain showers",
  82: "violent rain showers",
  85: "slight snow showers",
  86: "heavy snow showers",
  95: "thunderstorm",
  96: "thunderstorm with slight hail",
  99: "thunderstorm with heavy hail",
};
const conditions = (code: number | null) => (code === null ? "unknown" : (CONDITIONS[code] ?? `weather code ${code}`));

// What the tools read of Open-Meteo's answers.
const Place = z.object({
  name: z.string(),
  latitude: z.number(),
  longitude: z.number(),
  country: z.string().optional(),
  admin1: z.string().optional(),
  timezone: z.string().optional(),
  population: z.number().optional(),
});
const GeocodingAnswer = z.object({ results: z.array(Place).default([]) });
const series = z.array(z.number().nullable());
const ForecastAnswer = z.object({
  latitude: z.number(),
  longitude: z.number(),
  timezone: z.string(),
  current_units: z.record(z.string(), z.string()),
  current: z.object({
    time: z.string(),
    temperature_2m: z.number().nullable(),
    apparent_temperature: z.number().nullable(),
    relative_humidity_2m: z.number().nullable(),
    precipitation: z.number().nullable(),
    weather_code: z.number().nullable(),
    wind_speed_10m: z.number().nullable(),
  }),
  daily_units: z.record(z.string(), z.string()),
  daily: z.object({
    time: z.array(z.string()),
    weather_code: series,
    temperature_2m_max: series,
    temperature_2m_min: series,
    precipitation_sum: series,
    precipitation_probability_max: series,
    wind_speed_10m_max: series,
  }),
});
const ErrorAnswer = z.object({ reason: z.string() });

async function openMeteo<S extends z.ZodType>(url: string, answer: S, signal: AbortSignal): Promise<z.output<S>> {
  const host = new URL(url).hostname;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json" }, signal });
  } catch (error) {
    throw new Error(`could not reach ${host}: ${(error as Error).message}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    const status = response.ok ? "" : ` (${response.status})`;
    throw new Error(`Open-Meteo answered${status} with something that is not JSON`);
  }
  if (!response.ok) {
    const error = ErrorAnswer.safeParse(json);
    throw new Error(`Open-Meteo answered ${response.status}${error.success ? `: ${error.data.reason}` : ""}`);
  }
  const parsed = answer.safeParse(json);
  if (!parsed.success) {
    throw new Error(`Open-Meteo's answer does not have the expected shape: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

async function findPlaces(name: string, count: number, language: string, signal: AbortSignal) {
  const query = new URLSearchParams({ name, count: String(count), language, format: "json" });
  const found = await openMeteo(`${GEOCODING}/v1/search?${query}`, GeocodingAnswer, signal);
  return found.results.map((place) => ({
    name: place.name,
    region: place.admin1 ?? null,
    country: place.country ?? null,
    latitude: place.latitude,
    longitude: place.longitude,
    timezone: place.timezone ?? null,
    population: place.population ?? null,
  }));
}

const Units = z
  .enum(["metric", "imperial"])
  .default("metric")
  .describe("metric: °C, km/h, mm; imperial: °F, mph, inch");

async function forecast(
  latitude: number,
  longitude: number,
  days: number,
  units: z.output<typeof Units>,
  signal: AbortSignal,
) {
  const query = new URLSearchParams({
    latitude: String(latitude),
    longitude: String(longitude),
    current: "temperature_2m,apparent_temperature,relative_humidity_2m,precipitation,weather_code,wind_speed_10m",
    daily:
      "weather_code,temperature_2m_max,temperature_2m_min,precipitation_sum,precipitation_probability_max,wind_speed_10m_max",
    timezone: "auto",
    forecast_days: String(days),
  });
  if (units === "imperial") {
    query.set("temperature_unit", "fahrenheit");
    query.set("wind_speed_unit", "mph");
    query.set("precipitation_unit", "inch");
  }
  const answer = await openMeteo(`${FORECAST}/v1/forecast?${query}`, ForecastAnswer, signal);
  const { current, daily } = answer;
  const at = (values: (number | null)[], i: number) => values[i] ?? null;
  return {
    latitude: answer.latitude,
    longitude: answer.longitude,
    timezone: answer.timezone,
    units: {
      temperature: answer.current_units.temperature_2m ?? "",
      windSpeed: answer.current_units.wind_speed_10m ?? "",
      precipitation: answer.daily_units.precipitation_sum ?? "",
    },
    current: {
      time: current.time,
      conditions: conditions(current.weather_code),
      temperature: current.temperature_2m,
      feelsLike: current.apparent_temperature,
      humidity: current.relative_humidity_2m,
      precipitation: current.precipitation,
      windSpeed: current.wind_speed_10m,
    },
    days: daily.time.map((date, i) => ({
      date,
      conditions: conditions(at(daily.weather_code, i)),
      min: at(daily.temperature_2m_min, i),
      max: at(daily.temperature_2m_max, i),
      precipitation: at(daily.precipitation_sum, i),
      precipitationChance: at(daily.precipitation_probability_max, i),
      maxWind: at(daily.wind_speed_10m_max, i),
    })),
  };
}

const PlaceView = z.object({
  name: z.string(),
  region: z.string().nullable(),
  country: z.string().nullable(),
  latitude: z.number(),
  longitude: z.number(),
  timezone: z.string().nullable(),
  population: z.number().nullable(),
});
const value = z.number().nullable();
const ForecastView = z.object({
  latitude: z.number(),
  longitude: z.number(),
  timezone: z.string(),
  units: z.object({ temperature: z.string(), windSpeed: z.string(), precipitation: z.string() }),
  current: z.object({
    time: z.string(),
    conditions: z.string(),
    temperature: value,
    feelsLike: value,
    humidity: value,
    precipitation: value,
    windSpeed: value,
  }),
  days: z.array(
    z.object({
      date: z.string(),
      conditions: z.string(),
      min: value,
      max: value,
      precipitation: value,
      precipitationChance: value,
      maxWind: value,
    }),
  ),
});
const days = z.number().int().min(1).max(16).default(3).describe("How many days, today first (1-16)");

export default defineServer({
  name: "weather",
  version: "1.0.0",
  description: "Current weather and daily forecasts from Open-Meteo",
  egress: [...new Set([new URL(FORECAST).hostname, new URL(GEOCODING).hostname])],
  tools: {
    find_place: tool({
      title: "Find a place",
      description:
        "Looks up places by name (a city, town or village, optionally followed by its country) and returns their " +
        "coordinates, region, country and time zone, the most populous first.",
      input: z.object({
        name: z.string().trim().min(2).max(100).describe('A place name, like "Paris" or "Springfield"'),
        count: z.number().int().min(1).max(10).default(5).describe("How many places to return (1-10)"),
        language: z
          .string()
          .regex(/^[a-z]{2}$/, "a two-letter language code, like en")
          .default("en")
          .describe("The language of the names, as a two-letter code"),
      }),
      output: z.object({ places: z.array(PlaceView) }),
      annotations: { readOnlyHint: true, openWorldHint: true },
      async run({ name, count, language }, ctx) {
        return { places: await findPlaces(name, count, language, ctx.signal) };
      },
    }),
    forecast: tool({
      title: "Weather forecast by coordinates",
      description:
        "The current weather and a daily forecast (conditions, min and max temperature, precipitation and its " +
        "chance, wind) at a latitude and longitude, in the place's own time zone.",
      input: z.object({
        latitude: z.number().min(-90).max(90).describe("Degrees north (negative: south)"),
        longitude: z.number().min(-180).max(180).describe("Degrees east (negative: west)"),
        days,
        units: Units,
      }),
      output: ForecastView,
      annotations: { readOnlyHint: true, openWorldHint: true },
      run: ({ latitude, longitude, days, units }, ctx) => forecast(latitude, longitude, days, units, ctx.signal),
    }),
    forecast_for_place: tool({
      title: "Weather forecast for a place",
      description:
        "The current weather and a daily forecast for a place given by name: it takes the best match of find_place " +
        "and says which place it used. Use find_place first when a name is ambiguous.",
      input: z.object({
        place: z.string().trim().min(2).max(100).describe('A place name, like "Lyon" or "Portland, Oregon"'),
        days,
        units: Units,
      }),
      output: ForecastView.extend({ place: PlaceView }),
      annotations: { readOnlyHint: true, openWorldHint: true },
      async run({ place, days, units }, ctx) {
        // The geocoder matches names, not "name, region": search the name, prefer a match of the rest.
        const [name = place, ...rest] = place.split(",").map((part) => part.trim());
        const places = await findPlaces(name, 10, "en", ctx.signal);
        const qualifier = rest.join(" ").toLowerCase();
        const best =
          places.find(
            (candidate) =>
              qualifier !== "" &&
              [candidate.region, candidate.country].some((part) => part?.toLowerCase().includes(qualifier)),
          ) ?? places[0];
        if (!best) throw new Error(`no place called "${place}" was found; check the spelling or try a nearby town`);
        return { place: best, ...(await forecast(best.latitude, best.longitude, days, units, ctx.signal)) };
      },
    }),
  },
});
