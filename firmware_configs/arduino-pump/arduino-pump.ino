// Sensor board for edge-lstm over USB serial: one sample per line, 10 lines per second.
//
// Line protocol (what `[[serial]] format = "forwarder"`, `checksum = "nmea"` reads):
//   vibration,motor_current,bearing_temp,pressure,flow*XX\r\n
// numbers separated by commas, no header, and an NMEA-0183-style checksum: XX is the XOR of every
// byte before '*', in two upper-case hex digits. The daemon drops the first line after it opens the
// port (it may have joined mid-line) and refuses lines whose checksum does not match.
//
// Boards: Arduino Uno/Nano/Mega, ESP32 (Arduino core). Wiring as in esphome-pump.yaml; replace the
// read_*() bodies with your own sensors, keep the order of CHANNELS, which must match the model's
// features (`edge-lstm info BUNDLE` lists them) and firmware_configs/serial-pump.toml.
//
// Opening the port toggles DTR, which resets an Uno or Nano: the first second of data is lost on
// every daemon (re)start. `dtr = false` in the daemon config, or a 10 uF capacitor between RESET
// and GND, avoids it (see the README).

const char *const CHANNELS[] = {"vibration", "motor_current", "bearing_temp", "pressure", "flow"};
const unsigned long BAUD = 115200;
const unsigned long PERIOD_MS = 100;  // 10 Hz

const int PIN_VIBRATION = A0;  // RMS output of an analog accelerometer front end
const int PIN_CURRENT = A1;    // CT clamp through a burden resistor, biased at mid-supply
const int PIN_PRESSURE = A2;   // 0.5-4.5 V pressure transducer
const int PIN_FLOW = 2;        // pulse output of a flow meter (interrupt pin)

volatile unsigned long flow_pulses = 0;
unsigned long next_sample_ms = 0;

void count_flow_pulse() { flow_pulses++; }

float volts(int pin) { return analogRead(pin) * (5.0 / 1023.0); }

float read_vibration() { return volts(PIN_VIBRATION) * 10.0; }  // mm/s at 100 mV per mm/s

float read_motor_current() {
  // RMS over 20 ms (one mains cycle at 50 Hz) around the mid-supply bias; 30 A per volt.
  unsigned long start = millis();
  float sum = 0;
  int n = 0;
  while (millis() - start < 20) {
    float v = volts(PIN_CURRENT) - 2.5;
    sum += v * v;
    n++;
  }
  return sqrt(sum / n) * 30.0;
}

float read_bearing_temp() { return 45.0; }  // e.g. a DS18B20 through the OneWire library

float read_pressure() { return (volts(PIN_PRESSURE) - 0.5) * 2.5; }  // bar, 0-10 bar sensor

float read_flow() {
  noInterrupts();
  unsigned long pulses = flow_pulses;
  flow_pulses = 0;
  interrupts();
  return pulses * (1000.0 / PERIOD_MS) / 7.5;  // l/min for a 7.5 Hz per l/min meter
}

void send_line(const float *values, int count) {
  char line[96];
  int length = 0;
  for (int i = 0; i < count; i++) {
    if (i) line[length++] = ',';
    dtostrf(values[i], 1, 3, line + length);  // no printf("%f") on AVR
    length += strlen(line + length);
  }
  byte checksum = 0;
  for (int i = 0; i < length; i++) checksum ^= line[i];
  Serial.write(line, length);
  Serial.print('*');
  if (checksum < 0x10) Serial.print('0');
  Serial.print(checksum, HEX);
  Serial.print("\r\n");
}

void setup() {
  Serial.begin(BAUD);
  pinMode(PIN_FLOW, INPUT_PULLUP);
  attachInterrupt(digitalPinToInterrupt(PIN_FLOW), count_flow_pulse, RISING);
  next_sample_ms = millis();
}

void loop() {
  if ((long)(millis() - next_sample_ms) < 0) return;
  next_sample_ms += PERIOD_MS;
  float values[] = {read_vibration(), read_motor_current(), read_bearing_temp(), read_pressure(), read_flow()};
  send_line(values, sizeof(values) / sizeof(values[0]));
}
