"""Boot entry: run the sensor firmware (imu_fw.app) under asyncio."""

from imu_fw import app

app.run()
